#include "shmq/wakeups.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>

#include <cerrno>

namespace taskpool::shmq {

// Shared futexes (not FUTEX_PRIVATE): the segment is mapped by several
// processes.
void TaskWakeup::WakeOne() {
  std::atomic_ref<uint32_t>(*word_).fetch_add(1, std::memory_order_seq_cst);
  syscall(SYS_futex, word_, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void TaskWakeup::ForgetSleeper(uint64_t& sleeping_flag) {
  if (Load(sleeping_flag, std::memory_order_acquire) == 0) return;
  Store(sleeping_flag, 0, std::memory_order_relaxed);
  Atomic(*sleeping_workers_).fetch_sub(1, std::memory_order_seq_cst);
}

uint32_t TaskWakeup::PrepareToSleep(uint64_t& sleeping_flag) {
  // The word is read before the count goes up: a wake after that changes
  // it, so FUTEX_WAIT on the value read returns at once.
  const uint32_t seen =
      std::atomic_ref<uint32_t>(*word_).load(std::memory_order_seq_cst);
  Atomic(*sleeping_workers_).fetch_add(1, std::memory_order_seq_cst);
  Store(sleeping_flag, 1, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return seen;
}

TaskWakeup::SleepEnd TaskWakeup::Sleep(uint32_t seen, const sigset_t* idle_mask,
                                       const timespec* timeout) {
  // EINTR lets the worker's signal handling run. A signal acting between
  // the wait and the restored mask costs at most a wake, which
  // RecoverDeadWorker gives back.
  sigset_t busy_mask;
  if (idle_mask != nullptr) pthread_sigmask(SIG_SETMASK, idle_mask, &busy_mask);
  const long waited = syscall(SYS_futex, word_, FUTEX_WAIT, seen, timeout, nullptr, 0);
  const int error = waited < 0 ? errno : 0;
  if (idle_mask != nullptr) pthread_sigmask(SIG_SETMASK, &busy_mask, nullptr);
  if (error == EINTR) return SleepEnd::kInterrupted;
  return error == ETIMEDOUT ? SleepEnd::kTimedOut : SleepEnd::kWoken;
}

void TaskWakeup::DoneSleeping(uint64_t& sleeping_flag) {
  Store(sleeping_flag, 0, std::memory_order_release);
  Atomic(*sleeping_workers_).fetch_sub(1, std::memory_order_seq_cst);
}

}  // namespace taskpool::shmq
