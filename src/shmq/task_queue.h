// The shared-memory task queue between the supervisor and its workers.
//
// One POSIX shared-memory object (Boost.Interprocess shared_memory_object +
// mapped_region) per daemon, created by the supervisor before it forks any
// worker; workers inherit the mapping. The layout is described in
// common/task_queue.md. In short:
//
//   * a fixed array of task slots, each with one atomic state word
//     (generation, state, owner): FREE -> QUEUED -> RUNNING(w) -> DONE(w) ->
//     FREE. A worker claims a slot with a compare-and-swap QUEUED ->
//     RUNNING(w), so whatever instruction a worker dies at, the state word
//     says whether it held the task;
//   * a ring of slot tickets (supervisor is the single producer; workers
//     advance the shared head with CAS) giving FIFO order;
//   * one single-producer/single-consumer completion ring per worker;
//   * a futex in the segment that idle workers sleep on (woken one at a
//     time, and only when someone sleeps), and one eventfd the supervisor's
//     event loop watches for "results ready" (written only when the
//     supervisor has not been told already);
//   * an inline payload area per slot; payloads above it go to a per-task
//     blob (its own shared-memory object) written by exactly one process.
//
// No lock is ever taken in shared memory, so a dying worker cannot leave one
// held. The supervisor learns what a dead worker held from the state words
// (RecoverDeadWorker).
//
// Thread-safety: supervisor-side methods must be called from one thread (the
// supervisor's event loop). Worker-side methods are called by worker w only,
// with w unique per live process.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool::shmq {

struct QueueGeometry {
  uint32_t capacity = 1024;        // task slots (queued + running + unread)
  uint32_t max_workers = 64;       // worker indices 0..max_workers-1
  uint32_t inline_bytes = 64 * 1024;      // payload bytes kept in the slot
  uint64_t max_payload_bytes = 16 << 20;  // larger inputs/outputs are refused
};

// Names a task slot at one point in its life; the generation makes a stale
// reference to a reused slot harmless.
struct SlotRef {
  uint32_t index = 0;
  uint32_t generation = 0;
  bool operator==(const SlotRef&) const = default;
};

// The time limits of a task, for the code it runs (the supervisor enforces
// them on its own).
struct TaskTimeLimits {
  int64_t deadline_unix_us = 0;  // CLOCK_REALTIME microseconds; 0: none
  int64_t timeout_us = 0;        // running time, from the claim; 0: none
};

// What a worker sees of a claimed task.
struct ClaimedTask {
  SlotRef slot;
  uint32_t function_index = 0;
  std::string_view input;  // valid until Complete()
  uint32_t attempt = 1;
  // When the task must be done, CLOCK_REALTIME microseconds; 0: never. The
  // earlier of the submission's deadline and the claim time plus its
  // running-time limit.
  int64_t deadline_unix_us = 0;
  // The limits as enqueued, for a chunk whose items each get the timeout.
  TaskTimeLimits limits;
  // The input is a chunk of items to run one by one (see Enqueue).
  bool chunk = false;
};

// What the supervisor sees of a finished task.
struct CompletedTask {
  SlotRef slot;
  uint32_t worker = 0;
  pid_t worker_pid = 0;
  ErrorCode code = ErrorCode::kOk;
  // The output on success, the error message otherwise. Valid only during
  // the CollectCompleted callback.
  std::string_view output;
  int64_t enqueued_ns = 0;   // CLOCK_MONOTONIC
  int64_t started_ns = 0;    // CLOCK_MONOTONIC
  int64_t finished_ns = 0;   // CLOCK_MONOTONIC
  int64_t started_unix_us = 0;
  int64_t finished_unix_us = 0;
};

// A worker's self-reported activity, readable by the supervisor at any time.
struct WorkerActivity {
  pid_t pid = 0;
  bool busy = false;
  uint32_t function_index = 0;  // valid when busy
  int64_t started_ns = 0;       // valid when busy (CLOCK_MONOTONIC)
  uint64_t tasks_done = 0;
};

class TaskQueue;

namespace internal {
// TEST ONLY. Places in the worker-side code where the calling process
// _exit()s on purpose, to simulate a worker killed at exactly that
// instruction (something SIGKILL cannot hit deterministically). Set it in a
// forked worker child, never in the supervisor or in production code.
enum class TestCrashPoint {
  kNone,
  // In TryClaim: after the ticket is taken from the ring (head advanced),
  // before the slot's QUEUED -> RUNNING compare-and-swap; leaves an orphan.
  kBetweenClaimSteps,
  // In Complete: after DONE is published in the slot, before the slot is
  // pushed to the worker's completion ring.
  kAfterDonePublished,
  // In Complete: after claiming the right to wake the supervisor
  // (results_signalled set), before writing the results eventfd.
  kAfterResultsFlagged,
};
void SetTestCrashPoint(TaskQueue& queue, TestCrashPoint point);
}  // namespace internal

class TaskQueue {
 public:
  // Supervisor: removes a stale object of that name (left by a crashed
  // daemon), with its blobs, and creates a fresh queue. `name` is a POSIX
  // shm name without the leading slash, e.g. "taskpool-3f2a9c".
  static Result<std::unique_ptr<TaskQueue>> Create(std::string name,
                                                   const QueueGeometry& geometry);

  // Removes the named object's blobs, then the object itself. No-op if the
  // object is absent: it outlives its blobs, so then none can be left (and
  // /dev/shm is not listed).
  static void RemoveStale(const std::string& name);

  // Unmaps. The creating process (the supervisor, identified by pid at
  // Create) also removes the shm object and any remaining blobs; a forked
  // worker destroying its copy removes nothing.
  ~TaskQueue();

  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  const QueueGeometry& geometry() const;
  const std::string& name() const;

  // ------------------------------------------------------------ supervisor

  // Copies `input` into a free slot and makes it claimable, waking one
  // worker. Errors: QUEUE_FULL when no slot is free, PAYLOAD_TOO_LARGE above
  // max_payload_bytes, INTERNAL if a blob cannot be created.
  // `attempt` starts at 1 and is passed through to the worker, as are the
  // `limits` and `chunk` (kept by Requeue). `chunk` tells the worker that
  // the input holds several items to run one by one (v1::ChunkPayload); to
  // the queue it is one task like any other.
  Result<SlotRef> Enqueue(uint32_t function_index, std::string_view input,
                          uint32_t attempt = 1,
                          const TaskTimeLimits& limits = {}, bool chunk = false);

  // Re-queues a slot whose worker died while RUNNING it (after
  // RecoverDeadWorker returned it), keeping its input, for a retry.
  // Returns the new reference (the generation changes); enqueued_ns becomes
  // the time of the requeue. INVALID_ARGUMENT if `slot` is stale or not
  // RUNNING.
  Result<SlotRef> Requeue(SlotRef slot, uint32_t attempt);

  // Takes a QUEUED slot back before any worker claims it (cancellation,
  // expiry). False if a worker already claimed it or the ref is stale.
  bool TryWithdraw(SlotRef slot);

  // Frees a slot that is no longer wanted (e.g. died and not retried).
  // REQUIRES: the slot was returned by RecoverDeadWorker (for a QUEUED
  // slot prefer TryWithdraw). Never a slot a live worker is RUNNING: its
  // result would land in a reused slot. A stale or FREE ref is ignored.
  void Release(SlotRef slot);

  // Calls `on_done` for every task that workers finished since the last
  // call, then frees their slots. Returns how many. Also consumes the
  // results-ready eventfd.
  size_t CollectCompleted(const std::function<void(const CompletedTask&)>& on_done);

  // After worker `w` has been reaped: returns the slots it was RUNNING (the
  // caller decides: Requeue or Release), collects nothing, and makes sure no
  // queued task was left unclaimable by the death (a claim interrupted
  // halfway, a wake-up taken but not used).
  std::vector<SlotRef> RecoverDeadWorker(uint32_t worker);

  // The worker running `slot`, or nullopt if it is not RUNNING at that
  // generation (still queued, finished, or stale). Read from the slot's
  // state word, so it is exact, not advisory.
  std::optional<uint32_t> RunningWorker(SlotRef slot) const;

  // Asks the worker running `slot` to stop early: sets the flag that its
  // CancelRequested() reads. False (nothing set) unless the slot is RUNNING
  // at that generation. The flag is cleared when the slot is queued again.
  bool RequestCancel(SlotRef slot);

  // Tasks QUEUED and not yet claimed.
  uint32_t depth() const;
  // Slots not FREE (queued + running + finished but not yet collected).
  uint32_t in_use() const;

  WorkerActivity activity(uint32_t worker) const;

  // The fd to watch (readable) for finished tasks.
  int results_ready_fd() const;

  // ------------------------------------------------------------ worker

  // Called once in the worker process right after fork, before anything else.
  void AttachWorker(uint32_t worker, pid_t pid);

  // Blocks until a task is available and claims it for worker `w`.
  // Returns nullopt only if interrupted by a signal (EINTR) without a task.
  // With `idle_mask`, the calling thread's signal mask is `*idle_mask`
  // while it sleeps and restored before it claims: a signal that stays
  // blocked while a task runs (a request to retire) can then act only
  // when the worker holds no task.
  std::optional<ClaimedTask> WaitAndClaim(uint32_t worker,
                                          const sigset_t* idle_mask = nullptr);

  // Claims a task if one is queued; never blocks.
  std::optional<ClaimedTask> TryClaim(uint32_t worker);

  // Whether the supervisor asked for `task` to stop early (RequestCancel).
  // Cheap (one atomic load); task code may poll it.
  bool CancelRequested(const ClaimedTask& task) const;

  // A chunk's next item started at `started_ns` (CLOCK_MONOTONIC, which is
  // std::chrono::steady_clock): the worker's activity (its run time in
  // status, the supervisor's timeout and slow-log clock) restarts, so those
  // limits apply per item.
  void MarkItemStarted(uint32_t worker, int64_t started_ns);

  // Publishes the outcome of a claimed task (output on success, message on
  // failure) and wakes the supervisor. An output above max_payload_bytes is
  // replaced by a PAYLOAD_TOO_LARGE error. `tasks_done` is what the task
  // adds to the worker's count (a chunk: its items).
  void Complete(uint32_t worker, const ClaimedTask& task, ErrorCode code,
                std::string_view output, uint32_t tasks_done = 1);

 private:
  friend void internal::SetTestCrashPoint(TaskQueue& queue,
                                          internal::TestCrashPoint point);
  struct Impl;
  explicit TaskQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskpool::shmq
