#include "daemon/route/slow_log.h"

#include <algorithm>

#include "base/log.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

namespace {

int64_t ElapsedMilliseconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::max(duration, std::chrono::steady_clock::duration::zero()))
      .count();
}

}  // namespace

SlowLog::SlowLog(const std::chrono::milliseconds& threshold, const TaskRegistry& registry, Sink sink)
    : threshold_(threshold), registry_(registry), sink_(std::move(sink)) {
  if (!sink_) {
    sink_ = [](const std::string& line) { TP_LOG(kWarning) << line; };
  }
}

std::string SlowLog::Describe(const RoutedTask& task) const {
  return "task " + std::to_string(task.client_id) + " (" + registry_.name(task.function_index) +
         ", connection " + std::to_string(task.client->id) + ", client pid " +
         std::to_string(task.client->pid) + ")";
}

void SlowLog::CheckRunning(RoutedTask& task, uint32_t worker, const WorkerRun& run,
                           std::chrono::steady_clock::time_point now) {
  if (!Awaits(task) || !run.busy || now - run.started < threshold_) return;
  task.slow_logged = true;
  task.slow_started = run.started;
  sink_("slowlog: " + Describe(task) + " still running after " +
        std::to_string(ElapsedMilliseconds(now - run.started)) + " ms on worker " +
        std::to_string(worker) + " (pid " + std::to_string(run.pid) + "; --slowlog-ms " +
        std::to_string(threshold_.count()) + ")");
}

void SlowLog::LogEnd(const RoutedTask& task, std::string_view outcome,
                     std::chrono::steady_clock::duration run_time, pid_t worker_pid) {
  if (!task.slow_logged) return;
  sink_("slowlog: " + Describe(task) + " " + std::string(outcome) + " after a run of " +
        std::to_string(ElapsedMilliseconds(run_time)) + " ms on worker pid " +
        std::to_string(worker_pid));
}

void SlowLog::LogEndOfRun(const RoutedTask& task, ErrorCode code, const FinishedTask& finished) {
  if (!task.slow_logged) return;
  LogEnd(task, "ended " + std::string(ErrorCodeName(code)), finished.finished - finished.started,
         finished.worker_pid);
}

}  // namespace taskpool::daemon
