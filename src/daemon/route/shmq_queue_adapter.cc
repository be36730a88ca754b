#include "daemon/route/shmq_queue_adapter.h"

#include "daemon/route/payload_arena.h"

namespace taskpool::daemon {

namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

shmq::SlotRef ToShmq(TaskSlot slot) { return {slot.index, slot.generation}; }
TaskSlot FromShmq(shmq::SlotRef slot) { return {slot.index, slot.generation}; }

Result<TaskSlot> FromShmq(const Result<shmq::SlotRef>& slot) {
  if (!slot.ok()) return slot.status();
  return FromShmq(*slot);
}

// shmq's CLOCK_MONOTONIC nanoseconds.
std::chrono::steady_clock::time_point FromShmqMonotonic(int64_t nanos) {
  return std::chrono::steady_clock::time_point(nanoseconds(nanos));
}

// shmq's CLOCK_REALTIME microseconds.
std::chrono::system_clock::time_point FromShmqRealtime(int64_t micros) {
  return std::chrono::system_clock::time_point(microseconds(micros));
}

int64_t ShmqUnixMicros(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<microseconds>(time.time_since_epoch()).count();
}

shmq::TaskTimeLimits ToShmq(const RunLimits& limits) {
  shmq::TaskTimeLimits shmq_limits;
  if (limits.deadline) shmq_limits.deadline_unix_us = ShmqUnixMicros(*limits.deadline);
  shmq_limits.timeout_us = limits.timeout.count();
  return shmq_limits;
}

}  // namespace

uint32_t ShmqQueueAdapter::capacity() const { return queue_.geometry().capacity; }

Result<TaskSlot> ShmqQueueAdapter::Enqueue(uint32_t function_index, std::string_view input,
                                           const RunLimits& limits, bool chunk) {
  return FromShmq(queue_.Enqueue(function_index, input, 1, ToShmq(limits), chunk));
}

Result<TaskSlot> ShmqQueueAdapter::EnqueueFromArena(uint32_t function_index,
                                                    const ArenaSlice& input,
                                                    const RunLimits& limits) {
  if (input.arena == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "no payload arena on this connection");
  }
  shmq::ArenaInput arena_input;
  arena_input.fd = input.arena->fd();
  arena_input.inode = input.arena->inode();
  arena_input.offset = input.offset;
  arena_input.bytes = input.size;
  arena_input.output_room = input.output_room;
  arena_input.hold = input.arena;
  return FromShmq(queue_.Enqueue(function_index, std::move(arena_input), 1, ToShmq(limits)));
}

Result<TaskSlot> ShmqQueueAdapter::Requeue(TaskSlot slot, uint32_t attempt) {
  return FromShmq(queue_.Requeue(ToShmq(slot), attempt));
}

bool ShmqQueueAdapter::TryWithdraw(TaskSlot slot) { return queue_.TryWithdraw(ToShmq(slot)); }

void ShmqQueueAdapter::Release(TaskSlot slot) { queue_.Release(ToShmq(slot)); }

size_t ShmqQueueAdapter::CollectCompleted(const FinishedCallback& on_done) {
  // A lambda holding one reference: no allocation per call.
  return queue_.CollectCompleted([&on_done](const shmq::CompletedTask& completed) {
    FinishedTask finished;
    finished.slot = FromShmq(completed.slot);
    finished.worker_pid = completed.worker_pid;
    finished.code = completed.code;
    finished.output = completed.output;
    finished.output_in_arena = completed.output_in_arena;
    finished.output_offset = completed.output_offset;
    finished.output_bytes = completed.output_bytes;
    finished.started = FromShmqMonotonic(completed.started_ns);
    finished.finished = FromShmqMonotonic(completed.finished_ns);
    finished.started_wall = FromShmqRealtime(completed.started_unix_us);
    finished.finished_wall = FromShmqRealtime(completed.finished_unix_us);
    on_done(finished);
  });
}

std::vector<TaskSlot> ShmqQueueAdapter::RecoverDeadWorker(uint32_t worker) {
  const std::vector<shmq::SlotRef> held = queue_.RecoverDeadWorker(worker);
  std::vector<TaskSlot> slots;
  slots.reserve(held.size());
  for (const shmq::SlotRef& slot : held) slots.push_back(FromShmq(slot));
  return slots;
}

std::optional<uint32_t> ShmqQueueAdapter::RunningWorker(TaskSlot slot) const {
  return queue_.RunningWorker(ToShmq(slot));
}

bool ShmqQueueAdapter::RequestCancel(TaskSlot slot) { return queue_.RequestCancel(ToShmq(slot)); }

WorkerRun ShmqQueueAdapter::activity(uint32_t worker) const {
  const shmq::WorkerActivity activity = queue_.activity(worker);
  return {activity.pid, activity.busy, FromShmqMonotonic(activity.started_ns)};
}

}  // namespace taskpool::daemon
