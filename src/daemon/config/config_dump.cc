#include "daemon/config/config_dump.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <sstream>

namespace taskpool::daemon {

namespace {

constexpr std::array<std::string_view, 17> kLiveOptions = {
    "workers",
    "max-connections",
    "max-in-flight",
    "max-connection-memory-mib",
    "shutdown-timeout-ms",
    "task-timeout-ms",
    "max-tasks-per-worker",
    "max-worker-rss-mib",
    "worker-memory-limit-mib",
    "idle-timeout-ms",
    "crash-rate-threshold",
    "limit",
    "max-in-flight-per-user",
    "slowlog-ms",
    "allow-users",
    "allow-groups",
    "log-level",
};

const char* LogLevelName(base::LogLevel level) {
  switch (level) {
    case base::LogLevel::kDebug:
      return "debug";
    case base::LogLevel::kInfo:
      return "info";
    case base::LogLevel::kWarning:
      return "warning";
    case base::LogLevel::kError:
      return "error";
  }
  return "info";
}

template <typename Id>
std::string JoinIds(const std::vector<Id>& ids) {
  std::string joined;
  for (const Id id : ids) {
    if (!joined.empty()) joined += ',';
    joined += std::to_string(id);
  }
  return joined;
}

class Writer {
 public:
  template <typename Value>
  void Line(std::string_view name, const Value& value) {
    out_ << name << " = " << value << '\n';
  }
  void Bool(std::string_view name, bool value) { Line(name, value ? "true" : "false"); }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// name -> its values in order, from DumpConfig's lines; names in order of
// first appearance beside it.
struct DumpedOptions {
  std::vector<std::string> order;
  std::map<std::string, std::string> values;
};

DumpedOptions ReadDump(const std::string& dump) {
  DumpedOptions options;
  std::istringstream lines(dump);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t equals = line.find(" = ");
    if (equals == std::string::npos) continue;
    const std::string name = line.substr(0, equals);
    const std::string value = line.substr(equals + 3);
    auto [entry, inserted] = options.values.try_emplace(name, value);
    if (inserted) {
      options.order.push_back(name);
    } else {
      entry->second += ", " + value;
    }
  }
  return options;
}

}  // namespace

std::string DumpConfig(const DaemonConfig& c) {
  Writer w;
  w.Line("socket", c.socket_path);
  w.Line("workers", c.workers);
  w.Line("queue-capacity", c.queue_capacity);
  w.Line("max-payload-bytes", c.max_payload_bytes);
  w.Line("inline-payload-bytes", c.inline_payload_bytes);
  w.Line("max-connections", c.max_connections);
  w.Line("max-in-flight", c.max_in_flight_per_connection);
  w.Line("max-connection-memory-mib", c.max_connection_memory_bytes >> 20);
  w.Line("shutdown-timeout-ms", c.shutdown_timeout.count());
  w.Line("task-timeout-ms", c.task_timeout.count());
  w.Line("max-tasks-per-worker", c.max_tasks_per_worker);
  w.Line("max-worker-rss-mib", c.max_worker_rss_mib);
  w.Line("worker-memory-limit-mib", c.worker_memory_limit_mib);
  w.Line("idle-timeout-ms", c.idle_timeout.count());
  w.Line("hello-timeout-ms", c.hello_timeout.count());
  w.Line("frame-timeout-ms", c.frame_timeout.count());
  w.Line("max-connections-per-user", c.max_connections_per_user);
  w.Line("crash-rate-threshold", c.crash_rate_threshold);
  for (const auto& [function, limit] : c.function_limits) {
    w.Line("limit", function + "=" + std::to_string(limit));
  }
  w.Line("max-in-flight-per-user", c.max_in_flight_per_user);
  w.Line("slowlog-ms", c.slowlog.count());
  for (const std::string& plugin : c.plugins) w.Line("plugin", plugin);
  w.Bool("enable-test-tasks", c.enable_test_tasks);
  w.Bool("enable-exec", c.enable_exec);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", c.socket_mode);
  w.Line("socket-mode", mode);
  if (c.socket_group) w.Line("socket-group", *c.socket_group);
  if (!c.allowed_users.empty()) w.Line("allow-users", JoinIds(c.allowed_users));
  if (!c.allowed_groups.empty()) w.Line("allow-groups", JoinIds(c.allowed_groups));
  w.Line("log-level", LogLevelName(c.log_level));
  if (c.http_listen) w.Line("http-listen", c.http_listen->ToString());
  return w.str();
}

bool IsLiveOption(std::string_view name) {
  return std::find(kLiveOptions.begin(), kLiveOptions.end(), name) != kLiveOptions.end();
}

std::vector<OptionChange> DiffConfigs(const DaemonConfig& running, const DaemonConfig& next) {
  const DumpedOptions before = ReadDump(DumpConfig(running));
  const DumpedOptions after = ReadDump(DumpConfig(next));
  std::vector<std::string> names = before.order;
  for (const std::string& name : after.order) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::vector<OptionChange> changes;
  for (const std::string& name : names) {
    const auto old_value = before.values.find(name);
    const auto new_value = after.values.find(name);
    const std::string was = old_value == before.values.end() ? "" : old_value->second;
    const std::string now = new_value == after.values.end() ? "" : new_value->second;
    if (was != now) changes.push_back({name, was, now, IsLiveOption(name)});
  }
  return changes;
}

void ApplyLiveOptions(const DaemonConfig& next, DaemonConfig& running) {
  running.workers = next.workers;
  running.max_connections = next.max_connections;
  running.max_in_flight_per_connection = next.max_in_flight_per_connection;
  running.max_connection_memory_bytes = next.max_connection_memory_bytes;
  running.shutdown_timeout = next.shutdown_timeout;
  running.task_timeout = next.task_timeout;
  running.max_tasks_per_worker = next.max_tasks_per_worker;
  running.max_worker_rss_mib = next.max_worker_rss_mib;
  running.worker_memory_limit_mib = next.worker_memory_limit_mib;
  running.idle_timeout = next.idle_timeout;
  running.crash_rate_threshold = next.crash_rate_threshold;
  running.function_limits = next.function_limits;
  running.max_in_flight_per_user = next.max_in_flight_per_user;
  running.slowlog = next.slowlog;
  running.allowed_users = next.allowed_users;
  running.allowed_groups = next.allowed_groups;
  running.log_level = next.log_level;
}

}  // namespace taskpool::daemon
