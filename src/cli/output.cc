#include "cli/output.h"

#include <iomanip>
#include <sstream>

#include "cli/top_view.h"

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
  line += " (worker " + std::to_string(result.worker_pid);
  if (!result.node.empty()) line += " on " + result.node;
  line += ")";
  return line;
}

nlohmann::json ResultJson(const TaskResult& result) {
  nlohmann::json json = {
      {"ok", result.ok()},
      {"output", result.output},
      {"error", result.error},
      {"code", std::string(ErrorCodeName(result.code))},
      {"worker_pid", result.worker_pid},
      {"queue_ms", Milliseconds(result.queue_time)},
      {"run_ms", Milliseconds(result.run_time)},
      {"attempts", result.attempts},
  };
  if (!result.node.empty()) json["node"] = result.node;  // with --cluster
  return json;
}

std::string JsonLine(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string Mebibytes(uint64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1 << 20);
  return text.str();
}

std::string CpuSeconds(const v1::WorkerStatus& worker) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2)
       << static_cast<double>(worker.cpu_user_ms() + worker.cpu_system_ms()) / 1000.0;
  return text.str();
}

// "is_prime 120ms #7 pid 4711", or "-" when idle.
std::string CurrentTask(const v1::WorkerStatus& worker) {
  if (worker.current_function().empty()) return "-";
  std::string text = worker.current_function() + " " +
                     std::to_string(worker.current_run_ms()) + "ms";
  if (worker.current_client_pid() != 0) {
    text += " #" + std::to_string(worker.current_task_id()) + " pid " +
            std::to_string(worker.current_client_pid());
  }
  return text;
}

// "55 us/1.2 ms/3.4 ms": p50/p90/p99, in the units `taskpool top` uses.
std::string Percentiles(const v1::LatencySummary& latency) {
  const auto format = [&](uint64_t micros) {
    return FormatLatency(std::chrono::microseconds(micros), latency.count());
  };
  if (latency.count() == 0) return "-";
  return format(latency.p50_us()) + '/' + format(latency.p90_us()) + '/' +
         format(latency.p99_us());
}

// "TASK_FAILED=2 TIMEOUT=1", or "-".
std::string Failures(const v1::FunctionStatus& function) {
  std::string text;
  for (const v1::ErrorCount& failed : function.failed()) {
    if (!text.empty()) text += ' ';
    text += v1::ErrorCode_Name(failed.code()) + "=" + std::to_string(failed.count());
  }
  return text.empty() ? "-" : text;
}

void PrintWorkerTable(const v1::StatusReply& status, std::ostream& out) {
  out << std::left << std::setw(7) << "INDEX" << std::setw(9) << "PID" << std::setw(10)
      << "STATE" << std::setw(9) << "TASKS" << std::setw(10) << "RESTARTS" << std::setw(9)
      << "RSS MiB" << std::setw(9) << "CPU s" << std::setw(34) << "CURRENT"
      << "LAST EXIT\n";
  for (const v1::WorkerStatus& worker : status.workers()) {
    out << std::setw(7) << worker.index() << std::setw(9) << worker.pid() << std::setw(10)
        << worker.state() << std::setw(9) << worker.tasks_done() << std::setw(10)
        << worker.restarts() << std::setw(9) << Mebibytes(worker.rss_bytes()) << std::setw(9)
        << CpuSeconds(worker) << std::setw(34) << CurrentTask(worker)
        << (worker.last_exit().empty() ? "-" : worker.last_exit()) << "\n";
  }
}

void PrintFunctionTable(const v1::StatusReply& status, std::ostream& out) {
  if (status.functions().empty()) return;
  out << "\n" << std::left << std::setw(16) << "FUNCTION" << std::setw(11) << "SUBMITTED"
      << std::setw(11) << "SUCCEEDED" << std::setw(26) << "FAILED" << std::setw(27)
      << "QUEUE p50/p90/p99" << "RUN p50/p90/p99\n";
  for (const v1::FunctionStatus& function : status.functions()) {
    out << std::setw(16) << function.name() << std::setw(11) << function.submitted()
        << std::setw(11) << function.succeeded() << std::setw(26) << Failures(function)
        << std::setw(27) << Percentiles(function.queue_wait())
        << Percentiles(function.run_time()) << "\n";
  }
}

nlohmann::json LatencyJson(const v1::LatencySummary& latency) {
  return {{"count", latency.count()}, {"sum_us", latency.sum_us()},
          {"p50_us", latency.p50_us()}, {"p90_us", latency.p90_us()},
          {"p99_us", latency.p99_us()}, {"max_us", latency.max_us()}};
}

}  // namespace

void PrintStatusTable(const v1::StatusReply& status, std::ostream& out) {
  PrintWorkerTable(status, out);
  PrintFunctionTable(status, out);
  out << "\nqueue: " << status.queue_depth() << "/" << status.queue_capacity()
      << "  running: " << status.running() << "  connections: " << status.connections()
      << "\n"
      << "uptime: " << std::fixed << std::setprecision(1)
      << static_cast<double>(status.uptime_ms()) / 1000.0 << " s\n"
      << "tasks: " << status.tasks_submitted() << " submitted, " << status.tasks_succeeded()
      << " succeeded, " << status.tasks_failed()
      << " failed; workers died: " << status.workers_died() << "\n"
      << "daemon: pid " << status.daemon_pid() << ", version " << status.server_version()
      << "\n";
  if (status.has_cluster()) PrintClusterStatus(status.cluster(), out);
}

nlohmann::json StatusJson(const v1::StatusReply& status) {
  nlohmann::json workers = nlohmann::json::array();
  for (const v1::WorkerStatus& worker : status.workers()) {
    workers.push_back({
        {"index", worker.index()},
        {"pid", worker.pid()},
        {"state", worker.state()},
        {"tasks_done", worker.tasks_done()},
        {"current_function", worker.current_function()},
        {"current_run_ms", worker.current_run_ms()},
        {"current_task_id", worker.current_task_id()},
        {"current_client_pid", worker.current_client_pid()},
        {"restarts", worker.restarts()},
        {"last_exit", worker.last_exit()},
        {"rss_bytes", worker.rss_bytes()},
        {"cpu_user_ms", worker.cpu_user_ms()},
        {"cpu_system_ms", worker.cpu_system_ms()},
    });
  }
  nlohmann::json functions = nlohmann::json::array();
  for (const v1::FunctionStatus& function : status.functions()) {
    nlohmann::json failed = nlohmann::json::object();
    for (const v1::ErrorCount& count : function.failed()) {
      failed[v1::ErrorCode_Name(count.code())] = count.count();
    }
    functions.push_back({
        {"name", function.name()},
        {"submitted", function.submitted()},
        {"succeeded", function.succeeded()},
        {"failed", std::move(failed)},
        {"queue_wait", LatencyJson(function.queue_wait())},
        {"run_time", LatencyJson(function.run_time())},
    });
  }
  nlohmann::json json = {
      {"workers", std::move(workers)},
      {"functions", std::move(functions)},
      {"queue_depth", status.queue_depth()},
      {"queue_capacity", status.queue_capacity()},
      {"running", status.running()},
      {"uptime_ms", status.uptime_ms()},
      {"connections", status.connections()},
      {"tasks_submitted", status.tasks_submitted()},
      {"tasks_succeeded", status.tasks_succeeded()},
      {"tasks_failed", status.tasks_failed()},
      {"workers_died", status.workers_died()},
      {"server_version", status.server_version()},
      {"daemon_pid", status.daemon_pid()},
  };
  if (status.has_cluster()) json["cluster"] = ClusterJson(status.cluster());
  return json;
}

}  // namespace taskpool::cli
