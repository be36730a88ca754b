#include "client/cli/output.h"

#include <iomanip>
#include <sstream>

namespace taskpool::cli {

namespace {

double Milliseconds(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1000.0;
}

}  // namespace

std::string MapLine(const std::string& input, const TaskResult& result) {
  std::string line = input + ": ";
  if (result.ok()) {
    line += result.output;
  } else {
    line += "error " + result.status().ToString();
  }
  line += " (worker " + std::to_string(result.worker_pid) + ")";
  return line;
}

nlohmann::json ResultJson(const TaskResult& result) {
  return {
      {"ok", result.ok()},
      {"output", result.output},
      {"error", result.error},
      {"code", std::string(ErrorCodeName(result.code))},
      {"worker_pid", result.worker_pid},
      {"queue_ms", Milliseconds(result.queue_time)},
      {"run_ms", Milliseconds(result.run_time)},
      {"attempts", result.attempts},
  };
}

std::string JsonLine(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PrintStatusTable(const PoolStatus& status, std::ostream& out) {
  out << std::left << std::setw(7) << "INDEX" << std::setw(9) << "PID"
      << std::setw(10) << "STATE" << std::setw(9) << "TASKS" << std::setw(10)
      << "RESTARTS" << std::setw(16) << "CURRENT" << "LAST EXIT\n";
  for (const WorkerInfo& worker : status.workers) {
    out << std::setw(7) << worker.index << std::setw(9) << worker.pid
        << std::setw(10) << worker.state << std::setw(9) << worker.tasks_done
        << std::setw(10) << worker.restarts << std::setw(16)
        << (worker.current_function.empty() ? "-" : worker.current_function)
        << (worker.last_exit.empty() ? "-" : worker.last_exit) << "\n";
  }
  out << "\nqueue: " << status.queue_depth << "/" << status.queue_capacity
      << "  running: " << status.running
      << "  connections: " << status.connections << "\n"
      << "uptime: " << std::fixed << std::setprecision(1)
      << static_cast<double>(status.uptime.count()) / 1000.0 << " s\n"
      << "tasks: " << status.tasks_submitted << " submitted, "
      << status.tasks_succeeded << " succeeded, " << status.tasks_failed
      << " failed; workers died: " << status.workers_died << "\n"
      << "daemon: pid " << status.daemon_pid << ", version "
      << status.server_version << "\n";
}

nlohmann::json StatusJson(const PoolStatus& status) {
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerInfo& worker : status.workers) {
    workers.push_back({
        {"index", worker.index},
        {"pid", worker.pid},
        {"state", worker.state},
        {"tasks_done", worker.tasks_done},
        {"current_function", worker.current_function},
        {"current_run_ms", worker.current_run_time.count()},
        {"restarts", worker.restarts},
        {"last_exit", worker.last_exit},
    });
  }
  return {
      {"workers", std::move(workers)},
      {"queue_depth", status.queue_depth},
      {"queue_capacity", status.queue_capacity},
      {"running", status.running},
      {"uptime_ms", status.uptime.count()},
      {"connections", status.connections},
      {"tasks_submitted", status.tasks_submitted},
      {"tasks_succeeded", status.tasks_succeeded},
      {"tasks_failed", status.tasks_failed},
      {"workers_died", status.workers_died},
      {"server_version", status.server_version},
      {"daemon_pid", status.daemon_pid},
  };
}

}  // namespace taskpool::cli
