#include "tests/daemon/route/router_fakes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace taskpool::daemon::testing {

std::chrono::system_clock::time_point FakeClock::WallNow() const {
  // 2024-01-01 plus the steady time: wall time moves with it.
  return std::chrono::system_clock::time_point(std::chrono::seconds(1'704'067'200)) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(now_.time_since_epoch());
}

void FakeClock::CallAfter(std::chrono::milliseconds after, std::function<void()> tick) {
  EXPECT_EQ(tick_, nullptr) << "a second tick while one is pending";
  tick_ = std::move(tick);
  tick_due_ = now_ + after;
}

void FakeClock::Advance(std::chrono::steady_clock::duration duration) {
  const TimePoint end = now_ + duration;
  while (tick_ != nullptr && tick_due_ <= end) {
    now_ = std::max(now_, tick_due_);
    std::function<void()> tick = std::move(tick_);
    tick_ = nullptr;
    tick();
  }
  now_ = end;
}

FakeQueue::FakeQueue(const FakeClock& clock, uint32_t capacity) : clock_(clock), slots_(capacity) {}

const FakeQueue::Slot* FakeQueue::Current(TaskSlot slot) const {
  if (slot.index >= slots_.size()) return nullptr;
  const Slot& current = slots_[slot.index];
  return current.generation == slot.generation ? &current : nullptr;
}

FakeQueue::Slot* FakeQueue::Current(TaskSlot slot) {
  return const_cast<Slot*>(static_cast<const FakeQueue*>(this)->Current(slot));
}

Result<TaskSlot> FakeQueue::Enqueue(uint32_t function_index, std::string_view input,
                                    const RunLimits& limits, bool chunk) {
  if (next_enqueue_error_) {
    Status error = std::move(*next_enqueue_error_);
    next_enqueue_error_.reset();
    return error;
  }
  const auto free = std::find_if(slots_.begin(), slots_.end(),
                                 [](const Slot& slot) { return slot.state == State::kFree; });
  if (free == slots_.end()) return Status(ErrorCode::kQueueFull, "no free slot");
  Slot& slot = *free;
  const uint32_t generation = slot.generation + 1;
  slot = Slot{};
  slot.state = State::kQueued;
  slot.generation = generation;
  slot.function_index = function_index;
  slot.input = std::string(input);
  slot.limits = limits;
  slot.chunk = chunk;
  slot.attempt = 1;
  const uint32_t index = static_cast<uint32_t>(free - slots_.begin());
  claims_.push_back(index);
  return TaskSlot{index, generation};
}

Result<TaskSlot> FakeQueue::Requeue(TaskSlot ref, uint32_t attempt) {
  Slot* slot = Current(ref);
  if (slot == nullptr || slot->state != State::kRunning) {
    return Status(ErrorCode::kInvalidArgument, "not running");
  }
  ++slot->generation;
  slot->state = State::kQueued;
  slot->attempt = attempt;
  slot->cancel_requested = false;
  claims_.push_back(ref.index);
  return TaskSlot{ref.index, slot->generation};
}

bool FakeQueue::TryWithdraw(TaskSlot ref) {
  Slot* slot = Current(ref);
  if (slot == nullptr || slot->state != State::kQueued) return false;
  slot->state = State::kFree;
  std::erase(claims_, ref.index);
  return true;
}

void FakeQueue::Release(TaskSlot ref) {
  if (Slot* slot = Current(ref)) slot->state = State::kFree;
}

size_t FakeQueue::CollectCompleted(const FinishedCallback& on_done) {
  const std::vector<uint32_t> done = std::move(done_);
  done_.clear();
  for (uint32_t index : done) {
    Slot& slot = slots_[index];
    FinishedTask finished;
    finished.slot = {index, slot.generation};
    finished.worker_pid = WorkerPid(slot.worker);
    finished.code = slot.code;
    finished.output = slot.output;
    finished.started = slot.started;
    finished.finished = slot.finished;
    on_done(finished);
    slot.state = State::kFree;
  }
  return done.size();
}

std::vector<TaskSlot> FakeQueue::RecoverDeadWorker(uint32_t worker) {
  std::vector<TaskSlot> held;
  for (uint32_t index = 0; index < slots_.size(); ++index) {
    const Slot& slot = slots_[index];
    if (slot.state == State::kRunning && slot.worker == worker) {
      held.push_back({index, slot.generation});
    }
  }
  return held;
}

std::optional<uint32_t> FakeQueue::RunningWorker(TaskSlot ref) const {
  const Slot* slot = Current(ref);
  if (slot == nullptr || slot->state != State::kRunning) return std::nullopt;
  return slot->worker;
}

bool FakeQueue::RequestCancel(TaskSlot ref) {
  Slot* slot = Current(ref);
  if (slot == nullptr || slot->state != State::kRunning) return false;
  slot->cancel_requested = true;
  return true;
}

WorkerRun FakeQueue::activity(uint32_t worker) const {
  WorkerRun run;
  run.pid = WorkerPid(worker);
  for (const Slot& slot : slots_) {
    if (slot.state == State::kRunning && slot.worker == worker) {
      run.busy = true;
      run.started = slot.started;
    }
  }
  return run;
}

std::optional<TaskSlot> FakeQueue::Claim(uint32_t worker) {
  if (claims_.empty()) return std::nullopt;
  const uint32_t index = claims_.front();
  claims_.pop_front();
  Slot& slot = slots_[index];
  slot.state = State::kRunning;
  slot.worker = worker;
  slot.started = clock_.Now();
  return TaskSlot{index, slot.generation};
}

void FakeQueue::Finish(uint32_t worker, ErrorCode code, std::string output) {
  for (uint32_t index = 0; index < slots_.size(); ++index) {
    Slot& slot = slots_[index];
    if (slot.state == State::kRunning && slot.worker == worker) {
      slot.state = State::kDone;
      slot.code = code;
      slot.output = std::move(output);
      slot.finished = clock_.Now();
      done_.push_back(index);
      return;
    }
  }
  ADD_FAILURE() << "worker " << worker << " runs no task";
}

uint32_t FakeQueue::in_use() const {
  return static_cast<uint32_t>(std::count_if(
      slots_.begin(), slots_.end(), [](const Slot& slot) { return slot.state != State::kFree; }));
}

void FakeClient::SendResult(const v1::Result& result, std::string_view output) {
  EXPECT_TRUE(result.output().empty()) << "the output goes beside the result";
  results_.push_back(result);
  results_.back().set_output(std::string(output));
}

bool FakeClient::HasResult(uint64_t id) const {
  return std::any_of(results_.begin(), results_.end(),
                     [&](const v1::Result& result) { return result.id() == id; });
}

v1::Result FakeClient::ResultFor(uint64_t id) const {
  const auto count = std::count_if(results_.begin(), results_.end(),
                                   [&](const v1::Result& result) { return result.id() == id; });
  EXPECT_EQ(count, 1) << "results for task " << id << " on client " << id_;
  for (const v1::Result& result : results_) {
    if (result.id() == id) return result;
  }
  return {};
}

bool FakeRemote::CanPublish(const TaskClient&, const v1::Submit& submit, bool) const {
  return reachable && others_have.contains(submit.function());
}

bool FakeRemote::Cancel(const TaskClient& client, const v1::Cancel& cancel) {
  const bool ours = std::any_of(published.begin(), published.end(), [&](const auto& task) {
    return task.client == client.id() && task.submit.id() == cancel.id();
  });
  if (ours) cancelled.push_back(cancel.id());
  return ours;
}

std::vector<RemoteDrop> FakeRemote::ConnectionClosed(const TaskClient& client) {
  closed.push_back(client.id());
  std::vector<RemoteDrop> dropped;
  std::erase_if(published, [&](const RemoteSubmission& task) {
    if (task.client != client.id()) return false;
    dropped.push_back({task.function_index, task.tasks});
    return true;
  });
  return dropped;
}

void FakeRemote::CancelAll(const std::string& reason) {
  cancel_all.push_back(reason);
  published.clear();
}

RemoteSubmission FakeRemote::Take(uint64_t client, uint64_t id) {
  const auto found = std::find_if(published.begin(), published.end(), [&](const auto& task) {
    return task.client == client && task.submit.id() == id;
  });
  EXPECT_NE(found, published.end()) << "task " << id << " of connection " << client
                                    << " was not published";
  if (found == published.end()) return {};
  RemoteSubmission task = std::move(*found);
  published.erase(found);
  return task;
}

}  // namespace taskpool::daemon::testing
