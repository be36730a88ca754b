#include "daemon/route/deadline_watch.h"

#include <string>

namespace taskpool::daemon {

namespace {

std::string MillisecondsText(std::chrono::steady_clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
}

}  // namespace

DeadlineWatch::DeadlineWatch(RouterClock& clock, const SlowLog& slow_log,
                             std::function<void()> on_tick)
    : clock_(clock), slow_log_(slow_log), on_tick_(std::move(on_tick)) {}

void DeadlineWatch::Watch(uint32_t index) {
  watched_.push_back(index);
  Arm();
}

void DeadlineWatch::Arm() {
  if (armed_) return;
  armed_ = true;
  clock_.CallAfter(kTick, [this] {
    armed_ = false;
    on_tick_();
  });
}

std::optional<Status> DeadlineWatch::Overrun(const RoutedTask& task, const WorkerRun* run,
                                             std::chrono::steady_clock::time_point now) {
  const bool past_deadline = task.deadline && now >= *task.deadline;
  if (run == nullptr) {
    if (!past_deadline) return std::nullopt;
    return Status(ErrorCode::kExpired, "deadline of " +
                                           MillisecondsText(*task.deadline - task.accepted) +
                                           " ms passed while the task was still queued; it "
                                           "never ran");
  }
  if (task.timeout.count() != 0 && run->busy && now - run->started >= task.timeout) {
    return Status(ErrorCode::kTimeout, "ran longer than its timeout of " +
                                           std::to_string(task.timeout.count()) +
                                           " ms; its worker was killed and replaced");
  }
  if (past_deadline) {
    return Status(ErrorCode::kTimeout, "still running at its deadline of " +
                                           MillisecondsText(*task.deadline - task.accepted) +
                                           " ms; its worker was killed and replaced");
  }
  return std::nullopt;
}

std::optional<Status> DeadlineWatch::Overrun(const WaitingTask& task,
                                             std::chrono::steady_clock::time_point now) {
  const std::chrono::milliseconds deadline(task.submit.deadline_ms());
  if (deadline.count() == 0 || now < task.accepted + deadline) return std::nullopt;
  return Status(ErrorCode::kExpired,
                "deadline of " + std::to_string(deadline.count()) +
                    " ms passed while the task waited to be queued (for its lock key, its "
                    "function's limit or room in the queue); it never ran");
}

}  // namespace taskpool::daemon
