// Wake-ups between the supervisor and its workers. A wake-up is a syscall
// on each side and, when the other process sleeps, a context switch; with
// small tasks that is most of a task's cost, so each side signals only
// when the other may be asleep.
//
//   TaskWakeup     a futex in the segment idle workers sleep on; the
//                  supervisor wakes one per ticket, only while someone
//                  sleeps (a Dekker handshake on sleeping_workers).
//   ResultsSignal  an eventfd the supervisor's event loop watches; a worker
//                  writes it only if none has since the last collection.
//
// Both are views of header words (layout.h); copy them freely.
#pragma once

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "shmq/shared_word.h"

namespace taskpool::shmq {

class TaskWakeup {
 public:
  // `sleeping_workers` and `word` are ShmHeader's fields of those names.
  TaskWakeup(uint64_t& sleeping_workers, uint32_t& word)
      : sleeping_workers_(&sleeping_workers), word_(&word) {}

  // ---- supervisor

  // Bumps the futex word and wakes one sleeping worker. A futex (not a
  // semaphore eventfd) because it wakes exactly one waiter: every blocked
  // reader of an eventfd wakes on each write, so with N idle workers a task
  // cost N wake-ups. A waiter that dies simply leaves the futex queue.
  void WakeOne();

  // After a ticket is published: wakes a worker only if one is asleep (or
  // about to be); busy workers look at the ring before they sleep. With
  // the fences, either this sees the sleeper's count or the sleeper's last
  // look sees the ticket.
  void WakeOneIfSleeping() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (Load(*sleeping_workers_, std::memory_order_relaxed) != 0) WakeOne();
  }

  // After a worker is reaped: if it died counted as sleeping (its
  // `sleeping_flag`, ShmWorker::sleeping, is set), takes its share back,
  // or every later ticket would pay for a futex wake no one needs.
  void ForgetSleeper(uint64_t& sleeping_flag);

  // ---- worker (its own `sleeping_flag`)

  // Counts the worker as sleeping and returns the futex word to wait on.
  // REQUIRES: the caller then looks at the ring once more before Sleep:
  // a ticket pushed after that look finds the count, and its wake either
  // finds the worker waiting or changes the word so Sleep returns at once.
  uint32_t PrepareToSleep(uint64_t& sleeping_flag);

  // How a Sleep ended.
  enum class SleepEnd { kWoken, kInterrupted, kTimedOut };

  // Waits on the futex unless the word moved past `seen`, with the thread's
  // signal mask set to `*idle_mask` meanwhile (if given), for at most
  // `*timeout` (if given). A wake may find the ring already empty (another
  // worker took the task); the caller then sleeps again.
  SleepEnd Sleep(uint32_t seen, const sigset_t* idle_mask, const timespec* timeout = nullptr);

  // Undoes PrepareToSleep: flag first, count second, so a death in between
  // over-counts (harmless) rather than under-counts.
  void DoneSleeping(uint64_t& sleeping_flag);

 private:
  uint64_t* sleeping_workers_;
  uint32_t* word_;
};

class ResultsSignal {
 public:
  // `signalled` is ShmHeader::results_signalled; `fd` the results eventfd
  // (counter mode, non-blocking), owned by the Segment.
  ResultsSignal(uint64_t& signalled, int fd) : signalled_(&signalled), fd_(fd) {}

  // Writes the eventfd, whatever the flag says (the supervisor's recovery,
  // or a worker asking for a collection). Inline, like Consume: both run
  // once per task.
  void Signal() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof one);
  }

  // A worker, after publishing a completion: true if it must now Signal()
  // (no one has since the last collection); false if the supervisor is told
  // already. One write() per collection round is enough, the supervisor
  // drains every ring when it wakes. A worker killed between this and its
  // Signal() leaves the flag set without a wake-up; RecoverDeadWorker
  // signals for it.
  bool TakeTurnToSignal() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return Atomic(*signalled_).exchange(1, std::memory_order_seq_cst) == 0;
  }

  // The supervisor, before it drains the completion rings: consumes the
  // eventfd, then clears the flag. In this order, a worker that finds the
  // flag clear writes the eventfd after the read, so its write survives
  // until the next wake-up; the drain that follows sees every completion
  // published before the clear.
  void Consume() {
    uint64_t signalled = 0;
    [[maybe_unused]] ssize_t read_bytes = read(fd_, &signalled, sizeof signalled);
    Atomic(*signalled_).store(0, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }

 private:
  uint64_t* signalled_;
  int fd_;
};

}  // namespace taskpool::shmq
