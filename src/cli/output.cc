#include "cli/output.h"

#include <iomanip>
#include <sstream>

#include "cli/top_view.h"
#include "wire/worker_state.h"

namespace taskpool::cli {

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

// " (client 2, disconnect 1)": the reasons seen, or "".
std::string CancelReasons(const google::protobuf::RepeatedPtrField<v1::CancelCount>& reasons) {
  std::string text;
  for (const v1::CancelCount& reason : reasons) {
    if (reason.count() == 0) continue;
    text += (text.empty() ? " (" : ", ") + reason.reason() + " " + std::to_string(reason.count());
  }
  return text.empty() ? text : text + ")";
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
  // Workers by number, the name that replacements keep (ps shows it too).
  out << std::left << std::setw(7) << "WORKER" << std::setw(9) << "PID" << std::setw(10)
      << "STATE" << std::setw(9) << "TASKS" << std::setw(10) << "RESTARTS" << std::setw(9)
      << "RSS MiB" << std::setw(9) << "CPU s" << std::setw(34) << "CURRENT"
      << "LAST EXIT\n";
  for (const v1::WorkerStatus& worker : status.workers()) {
    out << std::setw(7) << worker.number() << std::setw(9) << worker.pid() << std::setw(10)
        << (worker.retiring() ? std::string_view("retiring")
                              : wire::WorkerStateName(worker.worker_state()))
        << std::setw(9) << worker.tasks_done()
        << std::setw(10) << worker.restarts() << std::setw(9) << Mebibytes(worker.rss_bytes()) << std::setw(9)
        << CpuSeconds(worker) << std::setw(34) << CurrentTask(worker)
        << (worker.last_exit().empty() ? "-" : worker.last_exit()) << "\n";
  }
}

void PrintFunctionTable(const v1::StatusReply& status, std::ostream& out) {
  if (status.functions().empty()) return;
  out << "\n" << std::left << std::setw(16) << "FUNCTION" << std::setw(11) << "SUBMITTED"
      << std::setw(11) << "SUCCEEDED" << std::setw(26) << "FAILED" << std::setw(11)
      << "CANCELLED" << std::setw(11) << "IN FLIGHT" << std::setw(27) << "QUEUE p50/p90/p99"
      << "RUN p50/p90/p99\n";
  for (const v1::FunctionStatus& function : status.functions()) {
    out << std::setw(16) << function.name() << std::setw(11) << function.submitted()
        << std::setw(11) << function.succeeded() << std::setw(26) << Failures(function)
        << std::setw(11) << function.cancelled() << std::setw(11) << function.in_flight()
        << std::setw(27) << Percentiles(function.queue_wait())
        << Percentiles(function.run_time()) << "\n";
  }
}

// "connections per user (at most 256 each): alice 3, uid 1001 1".
void PrintConnectionsPerUser(const v1::StatusReply& status, std::ostream& out) {
  out << "connections per user (at most " << status.max_connections_per_user() << " each): ";
  if (status.connections_per_user().empty()) out << "-";
  const char* separator = "";
  for (const v1::UserConnections& user : status.connections_per_user()) {
    out << separator << (user.name().empty() ? "uid " + std::to_string(user.uid()) : user.name())
        << " " << user.connections();
    separator = ", ";
  }
  out << "\n";
}

// "connection memory (at most 64.0 MiB each): 3.2 MiB in all; most 3.0 MiB,
// connection 7 (pid 4711), paused". Only the largest: a table of every
// connection would bury the rest of the status under a busy daemon.
void PrintConnectionMemory(const v1::StatusReply& status, std::ostream& out) {
  out << "connection memory (at most " << Mebibytes(status.max_connection_memory_bytes())
      << " MiB each): ";
  const v1::ConnectionMemory* most = nullptr;
  uint64_t total = 0;
  for (const v1::ConnectionMemory& connection : status.connection_memory()) {
    total += connection.held_bytes();
    if (most == nullptr || connection.held_bytes() > most->held_bytes()) most = &connection;
  }
  if (most == nullptr) {
    out << "-\n";
    return;
  }
  out << Mebibytes(total) << " MiB in all; most " << Mebibytes(most->held_bytes())
      << " MiB, connection " << most->connection() << " (pid " << most->pid() << ")"
      << (most->paused() ? ", paused" : "") << "\n";
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
      << " succeeded, " << status.tasks_failed() << " failed, " << status.tasks_cancelled()
      << " cancelled" << CancelReasons(status.tasks_cancelled_by_reason()) << ", "
      << status.tasks_in_flight() << " in flight; workers died: " << status.workers_died()
      << "\n"
      << "daemon: pid " << status.daemon_pid() << ", version " << status.server_version()
      << "\n";
  if (status.has_cluster()) PrintClusterStatus(status.cluster(), out);
  PrintConnectionsPerUser(status, out);
  PrintConnectionMemory(status, out);
}

}  // namespace taskpool::cli
