// The clocks, as std::chrono types, and the few integer forms they take
// where chrono cannot go: protobuf fields, shared memory, the plugin ABI.
// Interfaces inside taskpool pass SteadyTime / WallTime and durations;
// integers appear only at those edges, converted here.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace taskpool::base {

// For intervals, timeouts and deadlines on this machine: CLOCK_MONOTONIC,
// which libstdc++'s steady_clock reads. The shared-memory queue stores its
// readings as int64 nanoseconds (SteadyNanos below), so a worker's and the
// supervisor's readings compare.
using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

// For timestamps that leave the machine or reach people (Result's
// started/finished, a plugin's deadline): CLOCK_REALTIME, microseconds since
// the Unix epoch in integer form.
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

static_assert(std::is_same_v<SteadyClock::duration, std::chrono::nanoseconds>,
              "SteadyNanos assumes steady_clock counts nanoseconds");

// ------------------------------------------- shared memory, plugin ABI

// A steady reading as int64 nanoseconds, and back (exact).
constexpr int64_t SteadyNanos(SteadyTime time) { return time.time_since_epoch().count(); }
constexpr SteadyTime SteadyTimeFromNanos(int64_t nanos) {
  return SteadyTime(std::chrono::nanoseconds(nanos));
}

// A wall time as microseconds since the Unix epoch, and back (to the
// microsecond).
constexpr int64_t UnixMicros(WallTime time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}
constexpr WallTime WallTimeFromUnixMicros(int64_t micros) {
  return WallTime(std::chrono::duration_cast<WallClock::duration>(
      std::chrono::microseconds(micros)));
}

// A deadline in the integer form's convention, where 0 means none.
constexpr std::optional<WallTime> DeadlineFromUnixMicros(int64_t micros) {
  if (micros == 0) return std::nullopt;
  return WallTimeFromUnixMicros(micros);
}
constexpr int64_t UnixMicrosOfDeadline(std::optional<WallTime> deadline) {
  return deadline ? UnixMicros(*deadline) : 0;
}

// ------------------------------------------- protobuf fields

// A duration as an unsigned field's count of Unit (..._ms, ..._us):
// truncated, and 0 for a negative one (a clock read a little late).
template <typename Unit, typename Rep, typename Period>
constexpr uint64_t WireCount(std::chrono::duration<Rep, Period> duration) {
  const auto count = std::chrono::duration_cast<Unit>(duration).count();
  return count > 0 ? static_cast<uint64_t>(count) : 0;
}
template <typename Rep, typename Period>
constexpr uint64_t WireMillis(std::chrono::duration<Rep, Period> duration) {
  return WireCount<std::chrono::milliseconds>(duration);
}
template <typename Rep, typename Period>
constexpr uint64_t WireMicros(std::chrono::duration<Rep, Period> duration) {
  return WireCount<std::chrono::microseconds>(duration);
}

// The same for a uint32 field (Submit.timeout_ms, ...), clamped at the top
// rather than wrapped, so a huge limit stays huge.
template <typename Rep, typename Period>
constexpr uint32_t WireMillis32(std::chrono::duration<Rep, Period> duration) {
  const uint64_t millis = WireMillis(duration);
  return millis > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max()
                                                       : static_cast<uint32_t>(millis);
}

// A field's count as a duration, clamped where int64 ends.
template <typename Unit>
constexpr Unit FromWireCount(uint64_t count) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<typename Unit::rep>::max());
  return Unit(static_cast<typename Unit::rep>(count > kMax ? kMax : count));
}
constexpr std::chrono::milliseconds FromWireMillis(uint64_t millis) {
  return FromWireCount<std::chrono::milliseconds>(millis);
}
constexpr std::chrono::microseconds FromWireMicros(uint64_t micros) {
  return FromWireCount<std::chrono::microseconds>(micros);
}

}  // namespace taskpool::base
