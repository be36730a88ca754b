#include "shmq/worker_queue.h"

#include <unistd.h>

#include <cstring>
#include <string>

#include "shmq/segment_clock.h"
#include "shmq/shared_word.h"
#include "shmq/slot_state.h"

namespace taskpool::shmq {

namespace {

using std::chrono::microseconds;

// How long a worker keeps clients' arenas mapped while it has nothing to
// do: long enough for a client's next call, short enough that memory a
// client gave up is soon free.
constexpr timespec kArenaIdleRelease{1, 0};

std::string OutputTooLargeMessage(uint64_t size, uint64_t limit) {
  return "output of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes";
}

}  // namespace

WorkerQueue::WorkerQueue(const Segment& segment, uint32_t worker, pid_t pid)
    : segment_(segment),
      worker_(worker),
      record_(segment.worker(worker)),
      arenas_(static_cast<pid_t>(segment.header().creator_pid)) {
  Store(record_.busy, 0, std::memory_order_relaxed);
  Store(record_.function_index, 0, std::memory_order_relaxed);
  Store(record_.started_ns, 0, std::memory_order_relaxed);
  Store(record_.tasks_done, 0, std::memory_order_relaxed);
  Store(record_.pid, static_cast<uint64_t>(pid), std::memory_order_release);
  // completion_tail is kept: the supervisor's head continues from it.
}

// ============================================================ claiming

std::optional<ClaimedTask> WorkerQueue::TryClaim() {
  // One named result, so the task is built where the caller receives it.
  std::optional<ClaimedTask> task;
  TicketRing tickets = segment_.tickets();
  bool skipped_stale = false;
  while (const std::optional<SlotRef> ticket = tickets.Take()) {
    CrashIfAt(internal::TestCrashPoint::kBetweenClaimSteps);
    if (ClaimSlot(*ticket, task)) break;
    skipped_stale = true;
  }
  // Consuming stale tickets freed ring space; poke the supervisor so it
  // moves any overflowed tickets in (CollectCompleted flushes them).
  if (skipped_stale) segment_.results().Signal();
  return task;
}

std::optional<ClaimedTask> WorkerQueue::WaitAndClaim(const sigset_t* idle_mask) {
  TaskWakeup wakeup = segment_.task_wakeup();
  for (;;) {
    if (std::optional<ClaimedTask> task = TryClaim()) return task;
    const uint32_t seen = wakeup.PrepareToSleep(record_.sleeping);
    std::optional<ClaimedTask> task = TryClaim();  // the last look
    const timespec* timeout = arenas_.empty() ? nullptr : &kArenaIdleRelease;
    const TaskWakeup::SleepEnd end =
        task ? TaskWakeup::SleepEnd::kWoken : wakeup.Sleep(seen, idle_mask, timeout);
    wakeup.DoneSleeping(record_.sleeping);
    if (task) return task;
    if (end == TaskWakeup::SleepEnd::kInterrupted) return std::nullopt;
    if (end == TaskWakeup::SleepEnd::kTimedOut) {
      arenas_.Clear();
      std::string().swap(spare_input_);
    }
  }
}

inline bool WorkerQueue::ClaimSlot(SlotRef ref,
                                   std::optional<ClaimedTask>& claimed) {
  if (ref.index >= segment_.geometry().capacity) return false;
  if (!segment_.state(ref.index).TryClaim(ref.generation, worker_)) {
    return false;  // stale ticket: withdrawn, reused or duplicate
  }
  ShmSlot& s = segment_.slot(ref.index);
  s.worker_pid = static_cast<int32_t>(record_.pid);
  s.started_ns = MonotonicNs();
  s.started_unix_us = UnixUs();

  ClaimedTask& task = claimed.emplace();
  task.slot = ref;
  task.function_index = s.function_index;
  task.attempt = s.attempt;
  task.submission_deadline = base::DeadlineFromUnixMicros(s.deadline_unix_us);
  task.timeout = microseconds(s.timeout_us);
  task.deadline = task.submission_deadline;
  if (s.timeout_us != 0) {
    const base::WallTime timeout_end =
        base::WallTimeFromUnixMicros(s.started_unix_us + s.timeout_us);
    if (!task.deadline || timeout_end < *task.deadline) {
      task.deadline = timeout_end;
    }
  }
  task.flag = s.flag != 0;
  if (s.input_in_arena) {
    if (!CopyArenaInput(task)) {
      claimed.reset();
      return false;
    }
  } else if (s.input_in_blob) {
    if (!MapInputBlob(task)) {
      claimed.reset();
      return false;
    }
  } else {
    task.input = std::string_view(segment_.inline_input(ref.index, s.input_bytes), s.input_bytes);
  }

  Store(record_.function_index, task.function_index, std::memory_order_relaxed);
  Store(record_.started_ns, static_cast<uint64_t>(s.started_ns),
        std::memory_order_relaxed);
  Store(record_.busy, 1, std::memory_order_release);
  return true;
}

bool WorkerQueue::MapInputBlob(ClaimedTask& task) {
  const SlotRef ref = task.slot;
  const ShmSlot& s = segment_.slot(ref.index);
  Result<MappedBlob> mapped = segment_.blobs().Map(s.input_blob, s.input_bytes);
  if (!mapped.ok()) {
    // The task is ours now; fail it rather than leave it RUNNING.
    PublishResult(ref, mapped.status().code(), mapped.status().message(), 1);
    return false;
  }
  task.input = input_blobs_.insert_or_assign(ref.index, std::move(mapped).value())
                   .first->second.bytes();
  return true;
}

bool WorkerQueue::CopyArenaInput(ClaimedTask& task) {
  const SlotRef ref = task.slot;
  const ShmSlot& s = segment_.slot(ref.index);
  const ArenaRef where = s.input_arena;
  Result<std::shared_ptr<ArenaMapping>> arena =
      arenas_.Map(where.fd, where.inode, where.offset + s.input_bytes + s.output_room_bytes);
  if (!arena.ok()) {
    PublishResult(ref, arena.status().code(), arena.status().message(), 1);
    return false;
  }
  ArenaTask& held = arena_tasks_[ref.index];
  held.input.swap(spare_input_);
  held.input.assign((*arena)->base() + where.offset, s.input_bytes);
  held.arena = std::move(arena).value();
  task.input = held.input;
  return true;
}

// ============================================================ while running

bool WorkerQueue::CancelRequested(const ClaimedTask& task) const {
  return Load(segment_.slot(task.slot.index).cancel_requested,
              std::memory_order_acquire) != 0;
}

void WorkerQueue::RestartRunClock(base::SteadyTime started) {
  // SteadyTime is CLOCK_MONOTONIC, the clock of started_ns.
  Store(record_.started_ns, static_cast<uint64_t>(base::SteadyNanos(started)),
        std::memory_order_relaxed);
}

// ============================================================ completing

void WorkerQueue::Complete(const ClaimedTask& task, ErrorCode code,
                           std::string_view output, uint32_t tasks_done) {
  PublishResult(task.slot, code, output, tasks_done);
  // Only now: `output` may point into the task's input blob (an echo).
  input_blobs_.erase(task.slot.index);
  if (arena_tasks_.empty()) return;  // the common case: no lookup per task
  if (const auto held = arena_tasks_.find(task.slot.index); held != arena_tasks_.end()) {
    spare_input_.swap(held->second.input);
    arena_tasks_.erase(held);
  }
}

bool WorkerQueue::WriteOutputToArena(SlotRef ref, std::string_view output) {
  ShmSlot& s = segment_.slot(ref.index);
  const auto held = arena_tasks_.find(ref.index);
  if (held == arena_tasks_.end() || output.size() > s.output_room_bytes) return false;
  // The room was checked against the arena's size when it was mapped.
  std::memcpy(held->second.arena->base() + s.input_arena.offset + s.input_bytes, output.data(),
              output.size());
  s.output_in_arena = 1;
  return true;
}

inline Status WorkerQueue::WriteOutput(SlotRef ref, std::string_view output, bool to_arena) {
  ShmSlot& s = segment_.slot(ref.index);
  s.output_bytes = output.size();
  s.output_in_arena = 0;
  if (to_arena && s.input_in_arena && !output.empty() && WriteOutputToArena(ref, output)) {
    s.output_in_blob = 0;
    return Status::Ok();
  }
  if (output.size() <= segment_.geometry().inline_bytes) {
    std::memcpy(segment_.output_area(ref.index), output.data(), output.size());
    s.output_in_blob = 0;
    return Status::Ok();
  }
  // A blob the slot kept from an earlier task is rewritten in place; one
  // that cannot be is replaced by a new one, which BlobStore::Write names
  // in the slot before making it, for RecoverDeadWorker if this worker
  // dies half-way.
  if (!s.output_blob.empty()) {
    if (segment_.blobs().Rewrite(s.output_blob, output).ok()) {
      s.output_in_blob = 1;
      return Status::Ok();
    }
    segment_.blobs().Remove(s.output_blob);
  }
  Status written = segment_.blobs().Write(s.output_blob, output);
  s.output_in_blob = written.ok() ? 1 : 0;
  return written;
}

void WorkerQueue::PublishResult(SlotRef ref, ErrorCode code,
                                std::string_view output, uint32_t tasks_done) {
  const QueueGeometry& geometry = segment_.geometry();
  ShmSlot& s = segment_.slot(ref.index);

  std::string replacement;
  if (output.size() > geometry.max_payload_bytes) {
    code = ErrorCode::kPayloadTooLarge;
    replacement = OutputTooLargeMessage(output.size(), geometry.max_payload_bytes);
    output = replacement;
  }
  // Only an output goes to the client's arena: an error message is the
  // supervisor's to read.
  if (Status written = WriteOutput(ref, output, code == ErrorCode::kOk); !written.ok()) {
    code = written.code();
    replacement = written.message();
    // Cut to the inline area, it is a memcpy that cannot fail.
    WriteOutput(ref, std::string_view(replacement).substr(0, geometry.inline_bytes), false)
        .IgnoreError();
  }
  s.result_code = static_cast<int32_t>(code);
  s.finished_ns = MonotonicNs();
  s.finished_unix_us = UnixUs();

  // Activity first, so it is current once the supervisor sees DONE.
  Store(record_.busy, 0, std::memory_order_relaxed);
  Store(record_.tasks_done,
        Load(record_.tasks_done, std::memory_order_relaxed) + tasks_done,
        std::memory_order_relaxed);

  // CAS rather than store: if the supervisor took the slot away (a
  // misuse of Release), the result is dropped instead of corrupting it.
  if (!segment_.state(ref.index).TryFinish(ref.generation, worker_)) {
    if (s.output_in_blob) segment_.blobs().Remove(s.output_blob);
    return;
  }
  CrashIfAt(internal::TestCrashPoint::kAfterDonePublished);

  segment_.completions(worker_).Push(ref);
  ResultsSignal results = segment_.results();
  if (results.TakeTurnToSignal()) {
    CrashIfAt(internal::TestCrashPoint::kAfterResultsFlagged);
    results.Signal();
  }
}

namespace internal {
void SetTestCrashPoint(WorkerQueue& queue, TestCrashPoint point) {
  queue.crash_point_ = point;
}
}  // namespace internal

}  // namespace taskpool::shmq
