// The supervisor's view of the shared-memory task queue: it creates the
// segment, queues tasks, collects results and settles what a dead worker
// held. Workers get a different type, WorkerQueue (worker_queue.h),
// attached to segment() after fork, so a worker cannot call any of this.
//
// The segment (segment.h, layout.md) holds, in short:
//
//   * a fixed array of task slots, each with one atomic state word
//     (slot_state.h): FREE -> QUEUED -> RUNNING(w) -> DONE(w) -> FREE. A
//     worker claims a slot by compare-and-swap, so whatever instruction a
//     worker dies at, the state word says whether it held the task;
//   * a ring of slot tickets giving FIFO order (ticket_ring.h);
//   * one completion ring per worker (completion_ring.h);
//   * a futex idle workers sleep on and an eventfd for "results ready"
//     (wakeups.h);
//   * an inline payload area per slot; larger payloads go to blobs
//     (blob_store.h) written by exactly one process.
//
// No lock is ever taken in shared memory, so a dying worker cannot leave
// one held. The supervisor learns what a dead worker held from the state
// words (RecoverDeadWorker).
//
// Thread-safety: one thread (the supervisor's event loop). Process-local
// bookkeeping (free slots, overflowed tickets, late completions) lives
// here, never in a worker.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shmq/queue_types.h"
#include "shmq/segment.h"
#include "shmq/slot_reservation.h"
#include "shmq/ticket_publisher.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

// What the supervisor sees of a finished task.
struct CompletedTask {
  SlotRef slot;
  uint32_t worker = 0;
  pid_t worker_pid = 0;
  ErrorCode code = ErrorCode::kOk;
  // The output on success, the error message otherwise. Valid only during
  // the CollectCompleted callback.
  std::string_view output;
  // The output is in the client's arena instead (`output` is then empty):
  // `output_bytes` bytes at `output_offset` (ArenaInput).
  bool output_in_arena = false;
  uint64_t output_offset = 0;
  uint64_t output_bytes = 0;
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
  // CLOCK_MONOTONIC; valid when busy. When the task started, or when the
  // worker last restarted its run clock (WorkerQueue::RestartRunClock).
  int64_t started_ns = 0;
  uint64_t tasks_done = 0;  // as the worker counts them (Complete)
};

class SupervisorQueue {
 public:
  // Removes what crashed daemons left in /dev/shm and creates a fresh
  // queue (Segment::Create): SHARED_MEMORY_FULL if /dev/shm cannot hold
  // it, saying what it needs and what is free.
  static Result<std::unique_ptr<SupervisorQueue>> Create(const QueueGeometry& geometry);

  // Unmaps; in the creating process also removes any remaining blobs and
  // the instance mark. A forked worker destroying its copy removes nothing.
  ~SupervisorQueue();

  SupervisorQueue(const SupervisorQueue&) = delete;
  SupervisorQueue& operator=(const SupervisorQueue&) = delete;

  const QueueGeometry& geometry() const { return segment_->geometry(); }
  // The instance mark's name in /dev/shm (Segment::name).
  const std::string& name() const { return segment_->name(); }

  // The mapping a forked worker attaches its WorkerQueue to.
  const Segment& segment() const { return *segment_; }

  // Reserves the next few slots' pages in /dev/shm (SlotReservation),
  // which creation left for later so the daemon starts faster. Call it
  // once per turn of the event loop until reservation_complete(); an
  // error (SHARED_MEMORY_FULL: /dev/shm filled since the start) leaves the
  // rest to Enqueue, which reserves a slot before its first task.
  Status ReserveNextSlots() { return reservation_.ReserveNextStep(); }
  bool reservation_complete() const { return reservation_.complete(); }

  // Copies `input` into a free slot and makes it claimable, waking one
  // worker. Errors: QUEUE_FULL when no slot is free, PAYLOAD_TOO_LARGE above
  // max_payload_bytes, SHARED_MEMORY_FULL if /dev/shm has no room for the
  // input's blob or for the slot's first use, INTERNAL if a blob cannot be created otherwise.
  // `attempt` starts at 1 and is passed through to the worker, as are the
  // `limits` and `flag` (kept by Requeue). `flag` is opaque to the queue:
  // the claiming worker reads it back (the daemon marks chunk tasks with
  // it).
  Result<SlotRef> Enqueue(uint32_t function_index, std::string_view input,
                          uint32_t attempt = 1,
                          const TaskTimeLimits& limits = {}, bool flag = false);

  // The same for an input in a client's arena (queue_types.h): the slot
  // names it instead of holding a copy, and keeps `input.hold` until it is
  // free again. INVALID_ARGUMENT without a descriptor or bytes.
  Result<SlotRef> Enqueue(uint32_t function_index, ArenaInput input, uint32_t attempt = 1,
                          const TaskTimeLimits& limits = {}, bool flag = false);
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

  // Lets freed slots keep their blobs, up to `bytes` of them in all, so
  // that the slot's next large input or output rewrites them in place
  // (BlobStore::Rewrite) instead of making and removing a file per task.
  // 0, the default: every blob is removed once its task is done. Kept
  // blobs count against /dev/shm like any other.
  void KeepBlobs(uint64_t bytes) { keep_budget_ = bytes; }
  // Bytes of the blobs slots kept past their tasks (each counted at its
  // size when its slot was last freed).
  uint64_t kept_blob_bytes() const { return kept_bytes_; }

  // Tasks QUEUED and not yet claimed.
  uint32_t depth() const;
  // Slots not FREE (queued + running + finished but not yet collected).
  uint32_t in_use() const;

  WorkerActivity activity(uint32_t worker) const;

  // The fd to watch (readable) for finished tasks.
  int results_ready_fd() const { return segment_->results_fd(); }

 private:
  struct LateCompletion {
    SlotRef slot;
    uint32_t worker;
  };

  explicit SupervisorQueue(std::unique_ptr<Segment> segment);

  // Enqueue's steps, whatever holds the input: `write_input(index)` puts it
  // in the chosen slot.
  template <typename WriteInputTo>
  Result<SlotRef> Place(uint32_t function_index, uint64_t input_bytes, uint32_t attempt,
                        const TaskTimeLimits& limits, bool flag, WriteInputTo write_input);
  Status WriteInput(uint32_t index, std::string_view input);
  void PointAtArena(uint32_t index, ArenaInput input);
  // Makes a slot (whose fields were written) claimable.
  SlotRef Publish(uint32_t index, uint32_t generation);
  // Returns a slot the supervisor owns to the free list, keeping or
  // removing its blobs. The generation is kept and bumped on the next
  // allocation.
  void FreeSlot(uint32_t index, uint32_t generation);
  // Keeps the blob `id` (of `size` bytes) past its task if the budget has
  // room, removing it otherwise; `kept` is what the slot kept of it so far.
  void KeepOrRemove(ShmId& id, uint64_t& kept, uint64_t size);
  // Removes a slot's output blob (a dead worker may have half-written it).
  void RemoveOutputBlob(uint32_t index);
  // Delivers `ref` if it is still DONE by `worker` at that generation (it
  // may have been delivered already through the other path), then frees it.
  bool DeliverIfDone(SlotRef ref, uint32_t worker,
                     const std::function<void(const CompletedTask&)>& on_done);

  std::unique_ptr<Segment> segment_;
  TicketPublisher tickets_;
  SlotReservation reservation_;
  // Free slots, LIFO so a new task reuses recently touched pages (and
  // kept blobs).
  std::vector<uint32_t> free_slots_;
  uint64_t keep_budget_ = 0;
  uint64_t kept_bytes_ = 0;
  // By slot: the sizes of the input and output blobs it kept (0: none).
  std::vector<uint64_t> kept_input_bytes_;
  std::vector<uint64_t> kept_output_bytes_;
  // By slot, for a task whose input is in a client's arena: what keeps the
  // supervisor's descriptor for the arena open while the slot names it.
  std::unordered_map<uint32_t, std::shared_ptr<const void>> arena_holds_;
  // DONE slots of dead workers that may be missing from their completion
  // rings; delivered after the rings so each slot is delivered once.
  std::vector<LateCompletion> late_completions_;
};

}  // namespace taskpool::shmq
