#include "client/spin_wait.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace taskpool::client {

namespace {

// Threads of this process spinning now, over every connection.
std::atomic<unsigned> spinning_threads{0};

}  // namespace

unsigned UsableCpus() {
  unsigned usable = std::thread::hardware_concurrency();
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    const auto allowed = static_cast<unsigned>(CPU_COUNT(&mask));
    usable = usable == 0 ? allowed : std::min(usable, allowed);
  }
  return std::max(usable, 1u);
}

unsigned SpareCpusForSpinning(unsigned usable_cpus, uint32_t daemon_workers) {
  // The supervisor and every worker may all be running when a result is
  // due (a map keeps them busy); a spinner must not take their CPUs.
  const uint64_t needed = uint64_t{daemon_workers} + 1;
  return usable_cpus > needed ? static_cast<unsigned>(usable_cpus - needed) : 0;
}

SpinSlot::SpinSlot(unsigned limit) {
  unsigned now = spinning_threads.load(std::memory_order_relaxed);
  while (now < limit) {
    if (spinning_threads.compare_exchange_weak(now, now + 1,
                                               std::memory_order_relaxed)) {
      held_ = true;
      return;
    }
  }
}

SpinSlot::~SpinSlot() {
  if (held_) spinning_threads.fetch_sub(1, std::memory_order_relaxed);
}

void AdaptiveSpin::Record(std::chrono::nanoseconds waited) {
  if (waited <= kMax / 2) {
    // Short waits: spin a little longer than the last one took, so the
    // next like it is caught while spinning.
    budget_ = std::max(kMin, 2 * waited);
  } else {
    // Far beyond any spin: spinning only burned CPU. Back off, but keep a
    // small probe so that short answers are noticed again.
    budget_ = std::max(kMin, budget_ / 2);
  }
}

}  // namespace taskpool::client
