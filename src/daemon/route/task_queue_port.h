// What the router needs of the task queue, and nothing more.
//
// The router holds a TaskQueuePort&, never the shared-memory queue itself:
// the daemon passes the one adapter over shmq (shmq_queue_adapter.h), the
// router's tests a fake. Every type the router sees of the queue is
// defined here, with std::chrono types for time, so no shmq type reaches
// the router's other files.
//
// The queue's steady times are CLOCK_MONOTONIC, which is
// std::chrono::steady_clock; its wall times are CLOCK_REALTIME, which is
// std::chrono::system_clock.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

class PayloadArena;  // payload_arena.h

// Names a queue slot at one point in its life; the generation makes a
// stale reference to a reused slot harmless.
struct TaskSlot {
  uint32_t index = 0;
  uint32_t generation = 0;
  bool operator==(const TaskSlot&) const = default;
};

// The time limits a task's code is told of (Context::deadline()); the
// router enforces them on its own.
struct RunLimits {
  // When the task must be done; none: never.
  std::optional<std::chrono::system_clock::time_point> deadline;
  // Running time from the claim; 0: none.
  std::chrono::microseconds timeout{0};
};

// A task's input where its client put it: bytes of the client's payload
// arena, followed by room for the output.
struct ArenaSlice {
  std::shared_ptr<const PayloadArena> arena;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t output_room = 0;
};

// A task a worker finished.
struct FinishedTask {
  TaskSlot slot;
  pid_t worker_pid = 0;
  ErrorCode code = ErrorCode::kOk;
  // The output on success, the error message otherwise. Valid only during
  // the CollectCompleted callback.
  std::string_view output;
  // On success, for an ArenaSlice input whose output fit its room: the
  // output is `output_bytes` bytes at `output_offset` of the client's arena
  // instead, and `output` is empty.
  bool output_in_arena = false;
  uint64_t output_offset = 0;
  uint64_t output_bytes = 0;
  std::chrono::steady_clock::time_point started{};
  std::chrono::steady_clock::time_point finished{};
  std::chrono::system_clock::time_point started_wall{};
  std::chrono::system_clock::time_point finished_wall{};
};

// What a worker says it is doing.
struct WorkerRun {
  pid_t pid = 0;
  bool busy = false;
  std::chrono::steady_clock::time_point started{};  // valid when busy
};

class TaskQueuePort {
 public:
  using FinishedCallback = std::function<void(const FinishedTask&)>;

  virtual ~TaskQueuePort() = default;

  // Task slots: how many tasks may be queued or running at once.
  virtual uint32_t capacity() const = 0;

  // Queues a first attempt of function `function_index` on `input`.
  // Errors: QUEUE_FULL when no slot is free, PAYLOAD_TOO_LARGE, INTERNAL.
  // `chunk`: the input holds items the worker runs one by one.
  virtual Result<TaskSlot> Enqueue(uint32_t function_index, std::string_view input,
                                   const RunLimits& limits, bool chunk) = 0;

  // The same for an input in its client's arena, which the slot keeps open
  // until it is free. Not for chunks.
  virtual Result<TaskSlot> EnqueueFromArena(uint32_t function_index, const ArenaSlice& input,
                                            const RunLimits& limits) = 0;

  // Queues again, as attempt `attempt`, a slot RecoverDeadWorker returned.
  // The slot's reference changes.
  virtual Result<TaskSlot> Requeue(TaskSlot slot, uint32_t attempt) = 0;

  // Takes a queued task back before a worker claims it. False if a worker
  // has it already (or the reference is stale).
  virtual bool TryWithdraw(TaskSlot slot) = 0;

  // Frees a slot RecoverDeadWorker returned that will not be requeued.
  virtual void Release(TaskSlot slot) = 0;

  // Calls `on_done` for every task finished since the last call, then
  // frees their slots. Returns how many.
  virtual size_t CollectCompleted(const FinishedCallback& on_done) = 0;

  // After worker `worker` was reaped: the slots it was running.
  virtual std::vector<TaskSlot> RecoverDeadWorker(uint32_t worker) = 0;

  // The worker running `slot`, or nullopt while it is queued, once it is
  // finished, or if the reference is stale.
  virtual std::optional<uint32_t> RunningWorker(TaskSlot slot) const = 0;

  // Asks the worker running `slot` to stop early (Context::cancelled()).
  // False (nothing asked) unless it is running.
  virtual bool RequestCancel(TaskSlot slot) = 0;

  virtual WorkerRun activity(uint32_t worker) const = 0;
};

}  // namespace taskpool::daemon
