// The clocks the segment stores times in, as integers (layout.h):
// CLOCK_MONOTONIC, which is std::chrono::steady_clock, in nanoseconds, and
// CLOCK_REALTIME (system_clock) in microseconds. clock_gettime directly, as
// both are read on every claim and completion.
#pragma once

#include <cstdint>
#include <ctime>

namespace taskpool::shmq {

inline int64_t NowNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
inline int64_t MonotonicNs() { return NowNs(CLOCK_MONOTONIC); }
inline int64_t UnixUs() { return NowNs(CLOCK_REALTIME) / 1000; }

}  // namespace taskpool::shmq
