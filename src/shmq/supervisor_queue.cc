#include "shmq/supervisor_queue.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "shmq/segment_clock.h"
#include "shmq/shared_word.h"
#include "shmq/slot_state.h"

namespace taskpool::shmq {

namespace {

std::string InputTooLargeMessage(uint64_t size, uint64_t limit) {
  return "input of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes";
}

}  // namespace

// ============================================================ lifecycle

SupervisorQueue::SupervisorQueue(std::unique_ptr<Segment> segment)
    : segment_(std::move(segment)),
      tickets_(*segment_),
      reservation_(segment_->TakeFile(), segment_->header(),
                   DescribeQueue(segment_->geometry())),
      kept_input_bytes_(segment_->geometry().capacity),
      kept_output_bytes_(segment_->geometry().capacity) {
  const uint32_t capacity = segment_->geometry().capacity;
  // Highest index last so the LIFO hands out slot 0 first.
  free_slots_.reserve(capacity);
  for (uint32_t i = capacity; i-- > 0;) free_slots_.push_back(i);
}

SupervisorQueue::~SupervisorQueue() = default;

Result<std::unique_ptr<SupervisorQueue>> SupervisorQueue::Create(
    const QueueGeometry& geometry) {
  Result<std::unique_ptr<Segment>> segment = Segment::Create(geometry);
  if (!segment.ok()) return segment.status();
  return std::unique_ptr<SupervisorQueue>(
      new SupervisorQueue(std::move(segment).value()));
}

// ============================================================ queueing

Result<SlotRef> SupervisorQueue::Enqueue(uint32_t function_index, std::string_view input,
                                         uint32_t attempt, const TaskTimeLimits& limits,
                                         bool flag) {
  return Place(function_index, input.size(), attempt, limits, flag,
               [&](uint32_t index) { return WriteInput(index, input); });
}

Result<SlotRef> SupervisorQueue::Enqueue(uint32_t function_index, ArenaInput input,
                                         uint32_t attempt, const TaskTimeLimits& limits,
                                         bool flag) {
  if (input.fd < 0 || input.bytes == 0) {
    return Status(ErrorCode::kInvalidArgument, "an arena input needs a descriptor and bytes");
  }
  return Place(function_index, input.bytes, attempt, limits, flag, [&](uint32_t index) {
    PointAtArena(index, std::move(input));
    return Status::Ok();
  });
}

template <typename WriteInputTo>
Result<SlotRef> SupervisorQueue::Place(uint32_t function_index, uint64_t input_bytes,
                                       uint32_t attempt, const TaskTimeLimits& limits, bool flag,
                                       WriteInputTo write_input) {
  const QueueGeometry& geometry = segment_->geometry();
  if (input_bytes > geometry.max_payload_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  InputTooLargeMessage(input_bytes, geometry.max_payload_bytes));
  }
  tickets_.Flush();
  if (free_slots_.empty()) {
    return Status(ErrorCode::kQueueFull, "all " + std::to_string(geometry.capacity) +
                                             " task slots are in use");
  }
  const uint32_t index = free_slots_.back();
  if (Status reserved = reservation_.Cover(index); !reserved.ok()) return reserved;
  // A new generation makes any ticket still naming the old one stale.
  const uint32_t generation =
      GenerationOf(segment_->state(index).Load(std::memory_order_relaxed)) + 1;
  if (Status written = write_input(index); !written.ok()) {
    return written;
  }
  free_slots_.pop_back();
  ShmSlot& s = segment_->slot(index);
  s.function_index = function_index;
  s.attempt = attempt;
  s.enqueued_ns = MonotonicNs();
  s.deadline_unix_us = limits.deadline_unix_us;
  s.timeout_us = limits.timeout_us;
  s.flag = flag ? 1 : 0;
  Store(s.cancel_requested, 0, std::memory_order_relaxed);
  s.output_bytes = 0;
  s.output_in_blob = 0;
  s.output_in_arena = 0;
  // output_blob names the blob the slot kept, if any: the worker rewrites it.
  return Publish(index, generation);
}

Result<SlotRef> SupervisorQueue::Requeue(SlotRef slot, uint32_t attempt) {
  if (slot.index >= segment_->geometry().capacity) {
    return Status(ErrorCode::kInvalidArgument, "no such slot");
  }
  const uint64_t word = segment_->state(slot.index).Load();
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) != SlotState::kRunning) {
    return Status(ErrorCode::kInvalidArgument,
                  "slot " + std::to_string(slot.index) +
                      " is not a running task of generation " +
                      std::to_string(slot.generation));
  }
  tickets_.Flush();
  ShmSlot& s = segment_->slot(slot.index);
  RemoveOutputBlob(slot.index);  // RecoverDeadWorker's, if not yet
  s.attempt = attempt;
  s.enqueued_ns = MonotonicNs();
  Store(s.cancel_requested, 0, std::memory_order_relaxed);  // a fresh run
  s.output_bytes = 0;
  s.output_in_blob = 0;
  s.output_in_arena = 0;
  // The input (inline, blob or arena, named in the slot) stays.
  return Publish(slot.index, slot.generation + 1);
}

bool SupervisorQueue::TryWithdraw(SlotRef slot) {
  if (slot.index >= segment_->geometry().capacity) return false;
  if (!segment_->state(slot.index).TryWithdraw(slot.generation)) {
    return false;  // claimed by a worker, or a stale ref
  }
  FreeSlot(slot.index, slot.generation);
  return true;
}

void SupervisorQueue::Release(SlotRef slot) {
  if (slot.index >= segment_->geometry().capacity) return;
  const uint64_t word = segment_->state(slot.index).Load();
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) == SlotState::kFree) {
    return;  // stale ref or already free
  }
  FreeSlot(slot.index, slot.generation);
}

void SupervisorQueue::PointAtArena(uint32_t index, ArenaInput input) {
  ShmSlot& s = segment_->slot(index);
  // The arena's reference takes the input blob's place in the slot.
  KeepOrRemove(s.input_blob, kept_input_bytes_[index], 0);
  s.input_bytes = input.bytes;
  s.input_in_blob = 0;
  s.input_in_arena = 1;
  s.input_arena = {input.offset, static_cast<uint32_t>(input.fd),
                   static_cast<uint32_t>(input.inode)};
  s.output_room_bytes = static_cast<uint32_t>(
      std::min<uint64_t>(input.output_room, std::numeric_limits<uint32_t>::max()));
  arena_holds_[index] = std::move(input.hold);
}

inline Status SupervisorQueue::WriteInput(uint32_t index, std::string_view input) {
  ShmSlot& s = segment_->slot(index);
  s.input_bytes = input.size();
  s.input_in_arena = 0;
  s.output_room_bytes = 0;
  if (input.size() <= segment_->geometry().inline_bytes) {
    std::memcpy(segment_->inline_input(index, input.size()), input.data(), input.size());
    s.input_in_blob = 0;
    return Status::Ok();
  }
  // The slot is FREE: no worker reads input_blob until it is QUEUED. A
  // blob it kept is rewritten; one that cannot be is replaced.
  if (!s.input_blob.empty()) {
    if (segment_->blobs().Rewrite(s.input_blob, input).ok()) {
      s.input_in_blob = 1;
      return Status::Ok();
    }
    KeepOrRemove(s.input_blob, kept_input_bytes_[index], 0);
  }
  Status written = segment_->blobs().Write(s.input_blob, input);
  if (!written.ok()) return written;
  s.input_in_blob = 1;
  return Status::Ok();
}

inline SlotRef SupervisorQueue::Publish(uint32_t index, uint32_t generation) {
  segment_->state(index).PublishQueued(generation);
  const SlotRef ref{index, generation};
  tickets_.Push(ref);
  return ref;
}

inline void SupervisorQueue::FreeSlot(uint32_t index, uint32_t generation) {
  ShmSlot& s = segment_->slot(index);
  if (s.input_in_arena) {
    // Not a blob's name: the union's other member.
    s.input_blob = {};
    s.input_in_arena = 0;
    arena_holds_.erase(index);  // the last task of a closed connection closes its arena
  }
  // A blob this task used has its size; one kept and left unused (a small
  // payload this time) keeps its own. The flags are exact: DONE (or the
  // worker's death, or no claim at all) came after them.
  KeepOrRemove(s.input_blob, kept_input_bytes_[index],
               s.input_in_blob ? s.input_bytes : kept_input_bytes_[index]);
  s.input_in_blob = 0;
  KeepOrRemove(s.output_blob, kept_output_bytes_[index],
               s.output_in_blob ? s.output_bytes : kept_output_bytes_[index]);
  s.output_in_blob = 0;
  segment_->state(index).PublishFree(generation);
  tickets_.Forget(index);
  free_slots_.push_back(index);
}

inline void SupervisorQueue::KeepOrRemove(ShmId& id, uint64_t& kept, uint64_t size) {
  kept_bytes_ -= kept;
  kept = 0;
  if (id.empty()) return;
  if (size != 0 && kept_bytes_ + size <= keep_budget_) {
    kept = size;
    kept_bytes_ += size;
    return;
  }
  segment_->blobs().Remove(id);
  id = {};
}

void SupervisorQueue::RemoveOutputBlob(uint32_t index) {
  KeepOrRemove(segment_->slot(index).output_blob, kept_output_bytes_[index], 0);
}

// ============================================================ results

size_t SupervisorQueue::CollectCompleted(
    const std::function<void(const CompletedTask&)>& on_done) {
  // Before draining: a completion published after the drain signals again,
  // so none is missed.
  segment_->results().Consume();
  tickets_.Flush();
  size_t delivered = 0;
  for (uint32_t w = 0; w < segment_->geometry().max_workers; ++w) {
    segment_->completions(w).Drain([&](SlotRef ref) {
      if (DeliverIfDone(ref, w, on_done)) ++delivered;
    });
  }
  // After the rings: a late slot already delivered from a ring is FREE (or
  // reused at another generation) by now and is skipped.
  std::vector<LateCompletion> late;
  late.swap(late_completions_);
  for (const LateCompletion& completion : late) {
    if (DeliverIfDone(completion.slot, completion.worker, on_done)) {
      ++delivered;
    }
  }
  return delivered;
}

inline bool SupervisorQueue::DeliverIfDone(
    SlotRef ref, uint32_t worker,
    const std::function<void(const CompletedTask&)>& on_done) {
  if (ref.index >= segment_->geometry().capacity ||
      segment_->state(ref.index).Load() !=
          PackState(ref.generation, SlotState::kDone, worker)) {
    return false;
  }
  const ShmSlot& s = segment_->slot(ref.index);
  CompletedTask task;
  task.slot = ref;
  task.worker = worker;
  task.worker_pid = s.worker_pid;
  task.code = static_cast<ErrorCode>(s.result_code);
  task.enqueued_ns = s.enqueued_ns;
  task.started_ns = s.started_ns;
  task.finished_ns = s.finished_ns;
  task.started_unix_us = s.started_unix_us;
  task.finished_unix_us = s.finished_unix_us;

  std::optional<MappedBlob> output_blob;
  std::string blob_error;
  if (s.output_in_arena) {
    task.output_in_arena = true;
    task.output_offset = s.input_arena.offset + s.input_bytes;
    task.output_bytes = s.output_bytes;
  } else if (s.output_in_blob) {
    Result<MappedBlob> mapped = segment_->blobs().Map(s.output_blob, s.output_bytes);
    if (mapped.ok()) {
      output_blob.emplace(std::move(mapped).value());
      task.output = output_blob->bytes();
    } else {
      blob_error = mapped.status().message();
      task.code = ErrorCode::kInternal;
      task.output = blob_error;
    }
  } else {
    task.output =
        std::string_view(segment_->output_area(ref.index), s.output_bytes);
  }
  on_done(task);
  output_blob.reset();
  FreeSlot(ref.index, ref.generation);
  return true;
}

// ============================================================ worker deaths

std::vector<SlotRef> SupervisorQueue::RecoverDeadWorker(uint32_t worker) {
  std::vector<SlotRef> running;
  if (worker >= segment_->geometry().max_workers) return running;

  const uint64_t head = segment_->tickets().head();
  for (uint32_t i = 0; i < segment_->geometry().capacity; ++i) {
    const uint64_t word = segment_->state(i).Load();
    const SlotRef ref{i, GenerationOf(word)};
    switch (StateOf(word)) {
      case SlotState::kRunning:
        if (OwnerOf(word) != worker) break;
        // It may have died while writing an output blob, whose name it
        // stored first.
        RemoveOutputBlob(i);
        running.push_back(ref);
        break;
      case SlotState::kDone:
        // Maybe published DONE but died before its completion ring entry.
        if (OwnerOf(word) != worker) break;
        late_completions_.push_back({ref, worker});
        break;
      case SlotState::kQueued:
        // Its ticket was taken but the slot never claimed: the dead worker
        // stopped between the two steps. (A live worker in that window
        // gets a harmless duplicate: only one CAS can win.)
        if (tickets_.TicketTaken(i, head)) tickets_.Push(ref);
        break;
      case SlotState::kFree:
        break;
    }
  }
  // No other writer exists for a dead worker's record; the next attach
  // for this index resets the rest.
  ShmWorker& record = segment_->worker(worker);
  TaskWakeup wakeup = segment_->task_wakeup();
  wakeup.ForgetSleeper(record.sleeping);
  // The dead worker may have been woken for a task it never claimed.
  wakeup.WakeOne();
  // Have the event loop call CollectCompleted: for the late completions,
  // and because the worker may have died between setting
  // results_signalled and writing the eventfd, which would leave every
  // later completion unsignalled.
  segment_->results().Signal();

  Store(record.busy, 0, std::memory_order_relaxed);
  Store(record.pid, 0, std::memory_order_relaxed);
  return running;
}

// ============================================================ running tasks

std::optional<uint32_t> SupervisorQueue::RunningWorker(SlotRef slot) const {
  if (slot.index >= segment_->geometry().capacity) return std::nullopt;
  const uint64_t word = segment_->state(slot.index).Load();
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) != SlotState::kRunning) {
    return std::nullopt;
  }
  return OwnerOf(word);
}

bool SupervisorQueue::RequestCancel(SlotRef slot) {
  if (!RunningWorker(slot)) return false;
  // Only the supervisor frees or reuses a slot, so it is still this task's
  // run here; if the worker finishes meanwhile the flag is simply unread.
  Store(segment_->slot(slot.index).cancel_requested, 1,
        std::memory_order_release);
  return true;
}

uint32_t SupervisorQueue::depth() const {
  uint32_t queued = 0;
  for (uint32_t i = 0; i < segment_->geometry().capacity; ++i) {
    if (StateOf(segment_->state(i).Load(std::memory_order_relaxed)) ==
        SlotState::kQueued) {
      ++queued;
    }
  }
  return queued;
}

uint32_t SupervisorQueue::in_use() const {
  return segment_->geometry().capacity -
         static_cast<uint32_t>(free_slots_.size());
}

WorkerActivity SupervisorQueue::activity(uint32_t worker) const {
  WorkerActivity activity;
  if (worker >= segment_->geometry().max_workers) return activity;
  ShmWorker& record = segment_->worker(worker);
  activity.busy = Load(record.busy, std::memory_order_acquire) != 0;
  activity.pid =
      static_cast<pid_t>(Load(record.pid, std::memory_order_relaxed));
  activity.function_index = static_cast<uint32_t>(
      Load(record.function_index, std::memory_order_relaxed));
  activity.started_ns =
      static_cast<int64_t>(Load(record.started_ns, std::memory_order_relaxed));
  activity.tasks_done = Load(record.tasks_done, std::memory_order_relaxed);
  return activity;
}

}  // namespace taskpool::shmq
