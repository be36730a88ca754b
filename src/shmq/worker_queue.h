// A worker's view of the shared-memory task queue: claim a task, read its
// input, publish its outcome. It is attached, in the worker process right
// after fork, to the segment the supervisor created; it has no supervisor
// operation (those are SupervisorQueue's), so a worker cannot queue, free
// or collect anything.
//
// Whatever instruction a worker dies at, the slot state words say what it
// held (slot_state.h), and the supervisor settles it (RecoverDeadWorker).
//
// Thread-safety: one thread of the one worker process that attached it,
// with a worker index no other live process uses.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "shmq/arena_maps.h"
#include "shmq/blob_store.h"
#include "shmq/queue_types.h"
#include "shmq/segment.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

// What a worker sees of a claimed task.
struct ClaimedTask {
  SlotRef slot;
  uint32_t function_index = 0;
  std::string_view input;  // valid until Complete()
  uint32_t attempt = 1;
  // When the task must be done: the earlier of the submission's deadline
  // and the claim plus its running-time limit; nullopt: never.
  std::optional<base::WallTime> deadline;
  // The limits as enqueued, for code that restarts the running-time limit
  // on its own (RestartRunClock): the submission's deadline (nullopt:
  // none) and the running-time limit (zero: none).
  std::optional<base::WallTime> submission_deadline;
  std::chrono::microseconds timeout{0};
  // The enqueuer's opaque flag (SupervisorQueue::Enqueue), as it was given.
  bool flag = false;
};

class WorkerQueue;

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
void SetTestCrashPoint(WorkerQueue& queue, TestCrashPoint point);
}  // namespace internal

class WorkerQueue {
 public:
  // Attaches this process as worker `worker` (pid `pid`): resets the
  // worker's activity record, which the supervisor reads. Call it once,
  // in the worker right after fork, before anything else touches the
  // queue. REQUIRES: `segment` outlives this (it is the forked copy of
  // the supervisor's, never destroyed in a worker); worker <
  // geometry().max_workers.
  WorkerQueue(const Segment& segment, uint32_t worker, pid_t pid);

  WorkerQueue(const WorkerQueue&) = delete;
  WorkerQueue& operator=(const WorkerQueue&) = delete;

  uint32_t worker() const { return worker_; }

  // Blocks until a task is available and claims it.
  // Returns nullopt only if interrupted by a signal (EINTR) without a task.
  // With `idle_mask`, the calling thread's signal mask is `*idle_mask`
  // while it sleeps and restored before it claims: a signal that stays
  // blocked while a task runs (a request to retire) can then act only
  // when the worker holds no task.
  std::optional<ClaimedTask> WaitAndClaim(const sigset_t* idle_mask = nullptr);

  // Claims a task if one is queued; never blocks.
  std::optional<ClaimedTask> TryClaim();

  // Whether the supervisor asked for `task` to stop early (RequestCancel).
  // Cheap (one atomic load); task code may poll it.
  bool CancelRequested(const ClaimedTask& task) const;

  // The running task's clock restarts at `started`: the supervisor's view
  // of how long this worker has been running it (its run time in status,
  // the timeout and slow-log clocks, WorkerActivity::started_ns) counts
  // from there. For a task made of parts that are each limited on their
  // own.
  void RestartRunClock(base::SteadyTime started);

  // Publishes the outcome of a claimed task (output on success, message on
  // failure) and wakes the supervisor. An output above max_payload_bytes is
  // replaced by a PAYLOAD_TOO_LARGE error. `tasks_done` is what the task
  // adds to the worker's count (WorkerActivity::tasks_done); what counts as
  // one is the caller's business.
  void Complete(const ClaimedTask& task, ErrorCode code,
                std::string_view output, uint32_t tasks_done = 1);

 private:
  friend void internal::SetTestCrashPoint(WorkerQueue& queue,
                                          internal::TestCrashPoint point);

  // Claims the slot of `ticket` into `task`; false for a stale ticket
  // (or an input blob that cannot be mapped: that task is failed).
  bool ClaimSlot(SlotRef ticket, std::optional<ClaimedTask>& task);
  // Maps a claimed task's input blob into task.input; false (the task
  // failed and completed) if it cannot be mapped. Out of ClaimSlot, which
  // stays small enough to inline.
  bool MapInputBlob(ClaimedTask& task);
  // Copies a claimed task's input out of its client's arena into
  // task.input; false (the task failed and completed) if the arena cannot
  // be mapped.
  bool CopyArenaInput(ClaimedTask& task);
  // Writes the output into the room its client left after the input in its
  // arena; false if there is no such room or the output does not fit.
  bool WriteOutputToArena(SlotRef ref, std::string_view output);
  // Writes the output where the supervisor will look for it (the client's
  // arena, inline, or a blob this worker creates).
  // `to_arena`: the client's arena may take it (an output, not an error).
  Status WriteOutput(SlotRef ref, std::string_view output, bool to_arena);
  void PublishResult(SlotRef ref, ErrorCode code, std::string_view output,
                     uint32_t tasks_done);
  // Inline: it sits on every claim and completion.
  void CrashIfAt(internal::TestCrashPoint point) const {
    if (crash_point_ == point) [[unlikely]] _exit(0);
  }

  const Segment& segment_;
  const uint32_t worker_;
  ShmWorker& record_;
  // Input blobs mapped for claimed tasks, by slot index, until Complete.
  std::unordered_map<uint32_t, MappedBlob> input_blobs_;
  // Claimed tasks whose input is in a client's arena, by slot index, until
  // Complete: the input copied out (the task reads it there, whatever the
  // client does to its arena meanwhile) and the arena, for the output.
  struct ArenaTask {
    std::string input;
    std::shared_ptr<ArenaMapping> arena;
  };
  std::unordered_map<uint32_t, ArenaTask> arena_tasks_;
  // A finished ArenaTask's input buffer, for the next one: a large
  // allocation is otherwise fresh pages each time. Dropped with the
  // arenas when the worker idles.
  std::string spare_input_;
  ArenaMaps arenas_;
  internal::TestCrashPoint crash_point_ = internal::TestCrashPoint::kNone;
};

}  // namespace taskpool::shmq
