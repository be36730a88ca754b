// Whether a thread waiting for its own result should spin before it
// sleeps, and for how long.
//
// Sleeping in recv() and being woken costs a context switch on the way out
// and one on the way back (several microseconds each on a VM); polling the
// socket with non-blocking recv() for a few microseconds skips both when
// the answer is about to arrive. But a spinner occupies a CPU: where every
// CPU is needed by the daemon's supervisor and workers, spinning delays the
// very answer it waits for. So a client spins only with CPUs to spare, only
// as many threads of the process at once as there are spare CPUs, and only
// as long as answers have recently taken.
//
// Thread-safety: the free functions and SpinSlot are thread-safe;
// an AdaptiveSpin is used by one thread at a time (the holder of a
// connection's read role).
#pragma once

#include <chrono>
#include <cstdint>

namespace taskpool::client {

// CPUs this process may run on: its affinity mask (which reflects taskset
// and cpusets), at most std::thread::hardware_concurrency(). At least 1.
unsigned UsableCpus();

// How many threads of this process may spin at once so that the daemon
// keeps a CPU for its supervisor and one for each of `daemon_workers`
// (the daemon runs on the same machine: a Unix socket). 0 on a machine
// without spare CPUs, such as 2 CPUs and 2 workers.
unsigned SpareCpusForSpinning(unsigned usable_cpus, uint32_t daemon_workers);

// One of the process's spinning places, held for one spin. Empty (false)
// when `limit` threads already spin.
class SpinSlot {
 public:
  explicit SpinSlot(unsigned limit);
  ~SpinSlot();
  SpinSlot(const SpinSlot&) = delete;
  SpinSlot& operator=(const SpinSlot&) = delete;
  explicit operator bool() const { return held_; }

 private:
  bool held_ = false;
};

// The spin length for the next wait, learnt from the waits before it:
// twice the last wait while waits are short, halved when a wait is far
// beyond what spinning could cover (a task that computes, a loaded
// machine), and never more than kMax.
class AdaptiveSpin {
 public:
  static constexpr std::chrono::nanoseconds kMax{50'000};
  static constexpr std::chrono::nanoseconds kMin{2'000};

  // `slots`: SpareCpusForSpinning, or 0 to never spin.
  explicit AdaptiveSpin(unsigned slots) : slots_(slots) {}

  unsigned slots() const { return slots_; }
  // How long to spin before blocking (0: do not spin).
  std::chrono::nanoseconds budget() const { return slots_ == 0 ? kZero : budget_; }
  // The wait just done, from the request being sent to its answer.
  void Record(std::chrono::nanoseconds waited);

 private:
  static constexpr std::chrono::nanoseconds kZero{0};
  const unsigned slots_;
  std::chrono::nanoseconds budget_ = kMin;
};

}  // namespace taskpool::client
