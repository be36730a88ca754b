#include "cli/top_view.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <iterator>

namespace taskpool::cli {

namespace {

// printf into a std::string: the tables are fixed-width columns, which
// printf's field widths say most plainly.
[[gnu::format(printf, 1, 2)]] std::string Printf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  char buffer[512];
  const int length = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  if (length < 0) return "";
  return std::string(buffer, std::min<size_t>(static_cast<size_t>(length), sizeof buffer - 1));
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

std::string OffOr(uint32_t value, const std::string& unit) {
  return value == 0 ? "off" : std::to_string(value) + unit;
}

void AppendHeader(const PoolStatus& status, std::vector<std::string>* lines) {
  size_t up = 0;
  for (const WorkerInfo& worker : status.workers) {
    if (worker.state == WorkerState::kIdle || worker.state == WorkerState::kBusy) ++up;
  }
  lines->push_back(Printf(
      "taskpoold %s (pid %d), up %s | workers %zu/%zu up | queue %u/%u | running %u | "
      "connections %u",
      status.server_version.c_str(), status.daemon_pid,
      FormatDuration(status.uptime).c_str(), up, status.workers.size(), status.queue_depth,
      status.queue_capacity, status.running, status.connections));
  lines->push_back(Printf(
      "tasks %" PRIu64 " submitted, %" PRIu64 " ok, %" PRIu64 " failed, %" PRIu64
      " cancelled, %" PRIu64 " in flight | workers died %" PRIu64
      " | slowlog %s | per-user limit %s",
      status.tasks_submitted, status.tasks_succeeded, status.tasks_failed,
      status.tasks_cancelled, status.tasks_in_flight, status.workers_died,
      OffOr(status.slowlog_ms, " ms").c_str(),
      OffOr(status.max_in_flight_per_user, " tasks").c_str()));
}

void AppendWorkers(const PoolStatus& status, std::vector<std::string>* lines) {
  constexpr char kRow[] = "%4s %8s %-8s %-16s %8s %8s %8s %10s %9s  %s";
  lines->push_back(Printf(kRow, "IDX", "PID", "STATE", "FUNCTION", "RUNNING", "TASKS",
                          "RESTARTS", "RSS", "CPU", "LAST EXIT"));
  for (const WorkerInfo& worker : status.workers) {
    const bool busy = !worker.current_function.empty();
    lines->push_back(Printf(
        kRow, std::to_string(worker.index).c_str(), std::to_string(worker.pid).c_str(),
        std::string(WorkerStateName(worker.state)).c_str(),
        OrDash(worker.current_function).c_str(),
        busy ? FormatDuration(worker.current_run_time).c_str() : "-",
        std::to_string(worker.tasks_done).c_str(), std::to_string(worker.restarts).c_str(),
        worker.rss_bytes == 0 ? "-" : FormatBytes(worker.rss_bytes).c_str(),
        FormatDuration(worker.cpu_user + worker.cpu_system).c_str(),
        OrDash(worker.last_exit).c_str()));
  }
}

uint64_t FailedCount(const FunctionInfo& function) {
  uint64_t failed = 0;
  for (const auto& [code, count] : function.failed) failed += count;
  return failed;
}

void AppendFunctions(const PoolStatus& status, std::vector<std::string>* lines) {
  if (status.functions.empty()) return;
  constexpr char kRow[] = "%-16s %10s %10s %8s %9s %9s %10s %10s %10s %10s";
  lines->push_back("");
  lines->push_back(Printf(kRow, "FUNCTION", "SUBMITTED", "OK", "FAILED", "CANCELLED",
                          "IN FLIGHT", "WAIT p50", "WAIT p99", "RUN p50", "RUN p99"));
  for (const FunctionInfo& function : status.functions) {
    const LatencyInfo& wait = function.queue_wait;
    const LatencyInfo& run = function.run_time;
    lines->push_back(Printf(
        kRow, function.name.c_str(), std::to_string(function.submitted).c_str(),
        std::to_string(function.succeeded).c_str(), std::to_string(FailedCount(function)).c_str(),
        std::to_string(function.cancelled).c_str(), std::to_string(function.in_flight).c_str(),
        FormatLatency(wait.p50, wait.count).c_str(), FormatLatency(wait.p99, wait.count).c_str(),
        FormatLatency(run.p50, run.count).c_str(), FormatLatency(run.p99, run.count).c_str()));
  }
}

void AppendUsers(const PoolStatus& status, std::vector<std::string>* lines) {
  if (status.users.empty()) return;
  constexpr char kRow[] = "%-16s %10s %10s %10s";
  lines->push_back("");
  lines->push_back(Printf(kRow, "USER", "UID", "IN FLIGHT", "HELD"));
  for (const UserInfo& user : status.users) {
    lines->push_back(Printf(kRow, OrDash(user.name).c_str(), std::to_string(user.uid).c_str(),
                            std::to_string(user.in_flight).c_str(),
                            std::to_string(user.held).c_str()));
  }
}

void AppendNodes(const PoolStatus& status, std::vector<std::string>* lines) {
  const ClusterInfo& cluster = status.cluster;
  if (!cluster.enabled) return;
  const std::string state =
      cluster.connected ? "connected" : "NOT CONNECTED (" + cluster.problem + ")";
  lines->push_back("");
  lines->push_back(Printf("cluster '%s' as node %s: %s; published %llu, remote results %llu, "
                          "remote in flight %u; fetched %llu (%llu redelivered)",
                          cluster.queue.c_str(), cluster.node.c_str(),
                          state.c_str(),
                          static_cast<unsigned long long>(cluster.published),
                          static_cast<unsigned long long>(cluster.remote_results),
                          cluster.remote_in_flight,
                          static_cast<unsigned long long>(cluster.fetched),
                          static_cast<unsigned long long>(cluster.redelivered)));
  constexpr const char* kRow = "%-20s %7s %5s %6s %10s";
  lines->push_back(Printf(kRow, "NODE", "WORKERS", "BUSY", "QUEUED", "HEARD"));
  for (const NodeInfo& node : cluster.nodes) {
    lines->push_back(Printf(kRow, (node.name + (node.self ? " *" : "")).c_str(),
                            std::to_string(node.workers).c_str(), std::to_string(node.busy).c_str(),
                            std::to_string(node.queued).c_str(),
                            (FormatDuration(node.since_heartbeat) + " ago").c_str()));
  }
}

}  // namespace

std::vector<std::string> RenderTop(const PoolStatus& status) {
  std::vector<std::string> lines;
  AppendHeader(status, &lines);
  lines.push_back("");
  AppendWorkers(status, &lines);
  AppendFunctions(status, &lines);
  AppendUsers(status, &lines);
  AppendNodes(status, &lines);
  return lines;
}

std::vector<std::string> RenderUnreachable(const std::string& reason,
                                           std::chrono::milliseconds interval) {
  return {"daemon not reachable: " + reason,
          "retrying every " + FormatDuration(interval)};
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  const int64_t ms = std::max<int64_t>(duration.count(), 0);
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms < 60'000) return Printf("%.1f s", static_cast<double>(ms / 100) / 10.0);
  const int64_t seconds = ms / 1000;
  if (seconds < 3600) return Printf("%" PRId64 "m%02" PRId64 "s", seconds / 60, seconds % 60);
  if (seconds < 86'400) {
    return Printf("%" PRId64 "h%02" PRId64 "m", seconds / 3600, seconds % 3600 / 60);
  }
  return Printf("%" PRId64 "d%02" PRId64 "h", seconds / 86'400, seconds % 86'400 / 3600);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  return Printf("%.1f %s", value, kUnits[unit]);
}

std::string FormatLatency(std::chrono::microseconds latency, uint64_t count) {
  if (count == 0) return "-";
  const int64_t us = latency.count();
  if (us < 1000) return std::to_string(us) + " us";
  if (us < 1'000'000) return Printf("%.1f ms", static_cast<double>(us) / 1000.0);
  return Printf("%.2f s", static_cast<double>(us) / 1'000'000.0);
}

}  // namespace taskpool::cli
