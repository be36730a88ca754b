// Supervisor, part three: what it reports. The status reply (behind
// `taskpool status` and the metrics), and how worker exits are counted.
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "daemon/pool/process_stats.h"
#include "daemon/pool/supervisor.h"
#include "daemon/pool/worker_main.h"
#include "wire/worker_state.h"

namespace taskpool::daemon {

namespace {

// workers_replaced's reasons; see the .proto.
constexpr const char* kReplacementReasons[] = {"reload", "max_tasks", "max_rss",
                                               "out_of_memory", "killed"};

// What the status says worker `entry` is doing; `stopped`: /proc says so.
v1::WorkerState StateOf(const WorkerEntry& entry, const shmq::WorkerActivity& activity,
                        bool stopped) {
  if (entry.state == WorkerEntry::State::kExited) return v1::WORKER_STATE_DEAD;  // or fatal
  // Only /proc knows: the queue still says what it was doing when stopped.
  if (stopped) return v1::WORKER_STATE_STOPPED;
  if (activity.pid != entry.pid) return v1::WORKER_STATE_STARTING;  // not yet attached
  return activity.busy ? v1::WORKER_STATE_BUSY : v1::WORKER_STATE_IDLE;
}

}  // namespace

void Supervisor::CountExit(WorkerExit exit) {
  if (IsDeath(exit)) ++workers_died_;
  if (const char* reason = ReplacementReason(exit)) ++workers_replaced_[reason];
}

void Supervisor::FillStatus(v1::StatusReply* status) {
  const base::SteadyTime now = base::SteadyClock::now();
  uint32_t running = 0;
  const std::unordered_map<uint32_t, TaskRouter::RunningTask> tasks = router_->RunningTasks();
  for (const WorkerEntry& entry : workers_->entries()) {
    if (entry.state == WorkerEntry::State::kSpare) continue;
    v1::WorkerStatus* worker = status->add_workers();
    worker->set_index(entry.index);
    worker->set_number(entry.number);
    worker->set_retiring(entry.state == WorkerEntry::State::kRetiring);
    worker->set_pid(entry.pid);
    worker->set_restarts(entry.restarts);
    worker->set_last_exit(entry.last_exit);
    const shmq::WorkerActivity activity = queue_->activity(entry.index);
    worker->set_tasks_done(activity.tasks_done);
    bool stopped = false;
    if (entry.state != WorkerEntry::State::kExited) {
      // Not yet reaped, so the pid is still ours; a failure (it just
      // exited) leaves the numbers 0.
      if (Result<ProcessStats> usage = ReadProcessStats(entry.pid); usage.ok()) {
        worker->set_rss_bytes(usage->rss_bytes);
        worker->set_cpu_user_ms(usage->cpu_user_ms);
        worker->set_cpu_system_ms(usage->cpu_system_ms);
        stopped = usage->stopped();
      }
    }
    const bool attached = entry.state != WorkerEntry::State::kExited && activity.pid == entry.pid;
    wire::SetWorkerState(StateOf(entry, activity, stopped), worker);
    if (attached && activity.busy) {
      // A stopped worker's task is still its own, and still running.
      ++running;
      if (activity.function_index < registry_.size()) {
        worker->set_current_function(registry_.name(activity.function_index));
      }
      worker->set_current_run_ms(
          base::WireMillis(now - base::SteadyTimeFromNanos(activity.started_ns)));
      if (auto task = tasks.find(entry.index); task != tasks.end()) {
        worker->set_current_task_id(task->second.id);
        worker->set_current_client_pid(task->second.client_pid);
      }
    }
  }
  status->set_queue_depth(queue_->depth() + static_cast<uint32_t>(router_->waiting()));
  status->set_queue_capacity(config_.queue_capacity);
  status->set_running(running);
  status->set_uptime_ms(base::WireMillis(now - started_));
  server_->FillStatus(status);
  router_->FillUsers(status);
  status->set_max_in_flight_per_user(config_.max_in_flight_per_user);
  status->set_slowlog_ms(base::WireMillis32(config_.slowlog));
  router_->stats().FillTotals(status);
  status->set_workers_died(workers_died_);
  // Every reason, 0 included, so each series exists from the start.
  for (const char* reason : kReplacementReasons) {
    v1::WorkerReplacements* replaced = status->add_workers_replaced();
    replaced->set_reason(reason);
    const auto count = workers_replaced_.find(reason);
    replaced->set_count(count == workers_replaced_.end() ? 0 : count->second);
  }
  status->set_start_time_unix_ms(started_unix_ms_);
  status->set_server_version(TASKPOOL_VERSION);
  status->set_daemon_pid(getpid());
  router_->function_stats().Fill(registry_, status->mutable_functions());
  for (const FunctionListing& function : registry_.Listing()) {
    v1::RegisteredFunction* entry = status->add_registered_functions();
    entry->set_name(function.name);
    entry->set_plugin(function.plugin);
    entry->set_disabled(function.disabled);
  }
  if (cluster_) cluster_->FillStatus(status->mutable_cluster());
}


}  // namespace taskpool::daemon
