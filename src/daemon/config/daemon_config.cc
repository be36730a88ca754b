#include "daemon/config/daemon_config.h"

#include <boost/program_options.hpp>

#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include "base/socket_path.h"
#include "daemon/serve/access_policy.h"
#include "daemon/config/config_file.h"
#include "daemon/config/option_table.h"

namespace po = boost::program_options;

namespace taskpool::daemon {

namespace {

constexpr char kUsage[] =
    "Usage: taskpoold [OPTIONS]\n"
    "\n"
    "Runs a pool of pre-forked worker processes and serves tasks submitted\n"
    "over a Unix socket (see `taskpool --help` for the client side).\n"
    "Runs in the foreground and logs to stderr.\n";

constexpr char kDefaultConfigFile[] = "/etc/taskpool/taskpoold.conf";

// One numeric option's accepted range, for the message that names it.
struct NumericRange {
  const char* flag;
  int64_t value;
  int64_t min;
  int64_t max;
};

std::string CheckRange(const NumericRange& range) {
  if (range.value >= range.min && range.value <= range.max) return "";
  return std::string(range.flag) + " must be between " + std::to_string(range.min) +
         " and " + std::to_string(range.max) + ", not " + std::to_string(range.value);
}

constexpr int64_t kOneDayMs = 24LL * 3600 * 1000;
// The queue's shared memory: every slot holds an input and an output
// inline. Beyond this the geometry is a typo, not a configuration.
constexpr uint64_t kMaxQueueInlineBytes = 16ull << 30;

std::string CheckQueueGeometry(const RawOptions& raw) {
  const uint64_t bytes = static_cast<uint64_t>(raw.queue_capacity) * 2 *
                         static_cast<uint64_t>(raw.inline_payload_bytes);
  if (bytes <= kMaxQueueInlineBytes) return "";
  return "--queue-capacity " + std::to_string(raw.queue_capacity) +
         " with --inline-payload-bytes " + std::to_string(raw.inline_payload_bytes) +
         " needs " + std::to_string(bytes >> 20) + " MiB of shared memory (at most " +
         std::to_string(kMaxQueueInlineBytes >> 20) + " MiB); lower one of them";
}

// Below this a worker could not even start (it inherits a few MiB of
// data from the supervisor): such a limit is a typo, such as KiB for MiB.
constexpr int64_t kMinWorkerMemoryLimitMib = 16;

std::string CheckWorkerMemoryLimit(int64_t mib) {
  if (mib == 0 || mib >= kMinWorkerMemoryLimitMib) return "";
  return "--worker-memory-limit-mib must be 0 (no limit) or between " +
         std::to_string(kMinWorkerMemoryLimitMib) + " and " + std::to_string(1LL << 20) +
         ", not " + std::to_string(mib);
}

// A connection paused at its budget resumes once its replies drain; only
// a frame still arriving cannot drain. So the budget must hold a largest
// request frame and a largest reply at once, or such a pair could stall.
std::string CheckConnectionMemory(const RawOptions& raw) {
  const uint64_t frame = DaemonConfig::FrameBytesFor(static_cast<uint64_t>(raw.max_payload_bytes));
  const uint64_t needed_mib = (2 * frame + (1ull << 20) - 1) >> 20;
  if (static_cast<uint64_t>(raw.max_connection_memory_mib) >= needed_mib) return "";
  return "--max-connection-memory-mib " + std::to_string(raw.max_connection_memory_mib) +
         " cannot hold a largest request and reply at once: with --max-payload-bytes " +
         std::to_string(raw.max_payload_bytes) + " it must be at least " +
         std::to_string(needed_mib) + "; raise it or lower --max-payload-bytes";
}

std::string CheckRanges(const RawOptions& raw) {
  const NumericRange ranges[] = {
      {"--workers", raw.workers, 0, 1024},
      {"--queue-capacity", raw.queue_capacity, 1, 1'000'000},
      {"--max-payload-bytes", raw.max_payload_bytes, 1, 1LL << 30},
      {"--inline-payload-bytes", raw.inline_payload_bytes, 64, 16LL << 20},
      {"--max-connections", raw.max_connections, 1, 1'000'000},
      {"--max-in-flight", raw.max_in_flight, 1, 1'000'000},
      {"--max-connection-memory-mib", raw.max_connection_memory_mib, 1, 1LL << 20},
      {"--shutdown-timeout-ms", raw.shutdown_timeout_ms, 0, kOneDayMs},
      {"--task-timeout-ms", raw.task_timeout_ms, 0, 30 * kOneDayMs},
      {"--max-tasks-per-worker", raw.max_tasks_per_worker, 0, 1'000'000'000'000},
      {"--max-worker-rss-mib", raw.max_worker_rss_mib, 0, 1LL << 20},
      {"--worker-memory-limit-mib", raw.worker_memory_limit_mib, 0, 1LL << 20},
      {"--idle-timeout-ms", raw.idle_timeout_ms, 0, kOneDayMs},
      {"--hello-timeout-ms", raw.hello_timeout_ms, 0, kOneDayMs},
      {"--frame-timeout-ms", raw.frame_timeout_ms, 0, kOneDayMs},
      {"--max-connections-per-user", raw.max_connections_per_user, 0, 1'000'000},
      {"--crash-rate-threshold", raw.crash_rate_threshold, 0, 1'000'000},
      {"--max-in-flight-per-user", raw.max_in_flight_per_user, 0, 1'000'000},
      {"--slowlog-ms", raw.slowlog_ms, 0, kOneDayMs},
  };
  for (const NumericRange& range : ranges) {
    if (std::string problem = CheckRange(range); !problem.empty()) return problem;
  }
  if (std::string problem = CheckWorkerMemoryLimit(raw.worker_memory_limit_mib);
      !problem.empty()) {
    return problem;
  }
  if (std::string problem = CheckQueueGeometry(raw); !problem.empty()) return problem;
  return CheckConnectionMemory(raw);
}

// A Unix socket's path must fit sockaddr_un::sun_path with its NUL; checked
// before anything is created, since nothing could ever listen there.
std::string CheckSocketPath(const std::string& path) {
  constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
  if (path.empty()) return "--socket must not be empty";
  if (path.size() <= kMaxSocketPath) return "";
  return "socket path '" + path + "' is " + std::to_string(path.size()) +
         " bytes; a Unix socket path can have at most " + std::to_string(kMaxSocketPath) +
         " (use a shorter --socket or $TASKPOOL_SOCKET)";
}

// --http-listen, or --metrics-listen, its older name: fills the address and
// the name it came by. Both at once must agree.
std::string CheckHttpListen(const RawOptions& raw, DaemonConfig& config) {
  if (!raw.http_listen.empty() && !raw.metrics_listen.empty() &&
      raw.http_listen != raw.metrics_listen) {
    return "--http-listen " + raw.http_listen + " and --metrics-listen " +
           raw.metrics_listen +
           " disagree: --metrics-listen is the older name of --http-listen; "
           "give one of them";
  }
  const bool by_old_name = raw.http_listen.empty();
  const std::string& text = by_old_name ? raw.metrics_listen : raw.http_listen;
  if (text.empty()) return "";
  config.http_listen_option = by_old_name ? "--metrics-listen" : "--http-listen";
  Result<ListenAddress> address = ParseListenAddress(text);
  if (!address.ok()) {
    return config.http_listen_option + ": " + address.status().message();
  }
  config.http_listen = std::move(address.value());
  return "";
}

// Checks ranges and fills `config`; returns an error message or "".
std::string Validate(const RawOptions& raw, DaemonConfig& config) {
  if (std::string problem = CheckRanges(raw); !problem.empty()) return problem;
  size_t parsed = 0;
  unsigned long mode = 0;
  try {
    mode = std::stoul(raw.socket_mode, &parsed, 8);
  } catch (const std::exception&) {
    parsed = 0;
  }
  if (parsed != raw.socket_mode.size() || mode > 0777)
    return "--socket-mode must be an octal mode such as 0660, not '" +
           raw.socket_mode + "'";
  if (!base::ParseLogLevel(raw.log_level, &config.log_level))
    return "--log-level must be debug, info, warning or error, not '" +
           raw.log_level + "'";

  config.socket_path = base::ResolveSocketPath(raw.socket);
  if (std::string problem = CheckSocketPath(config.socket_path); !problem.empty()) {
    return problem;
  }
  config.workers = raw.workers != 0
                       ? static_cast<uint32_t>(raw.workers)
                       : std::max(1u, std::thread::hardware_concurrency());
  config.queue_capacity = static_cast<uint32_t>(raw.queue_capacity);
  config.max_payload_bytes = static_cast<uint64_t>(raw.max_payload_bytes);
  config.inline_payload_bytes = static_cast<uint32_t>(raw.inline_payload_bytes);
  config.max_connections = static_cast<uint32_t>(raw.max_connections);
  config.max_in_flight_per_connection = static_cast<uint32_t>(raw.max_in_flight);
  config.max_connection_memory_bytes = static_cast<uint64_t>(raw.max_connection_memory_mib) << 20;
  config.shutdown_timeout = std::chrono::milliseconds(raw.shutdown_timeout_ms);
  config.task_timeout = std::chrono::milliseconds(raw.task_timeout_ms);
  config.max_tasks_per_worker = static_cast<uint64_t>(raw.max_tasks_per_worker);
  config.max_worker_rss_mib = static_cast<uint64_t>(raw.max_worker_rss_mib);
  config.worker_memory_limit_mib = static_cast<uint64_t>(raw.worker_memory_limit_mib);
  config.idle_timeout = std::chrono::milliseconds(raw.idle_timeout_ms);
  config.hello_timeout = std::chrono::milliseconds(raw.hello_timeout_ms);
  config.frame_timeout = std::chrono::milliseconds(raw.frame_timeout_ms);
  // One user can then never take every slot from the others.
  config.max_connections_per_user =
      raw.max_connections_per_user != 0
          ? static_cast<uint32_t>(raw.max_connections_per_user)
          : std::max(1u, config.max_connections / 4);
  config.crash_rate_threshold = raw.crash_rate_threshold != 0
                                    ? static_cast<uint32_t>(raw.crash_rate_threshold)
                                    : 10 * config.workers;
  config.enable_test_tasks = raw.enable_test_tasks;
  config.enable_exec = raw.enable_exec;
  for (const std::string& limit : raw.limits) {
    const size_t equals = limit.find('=');
    const std::string name = limit.substr(0, equals);
    unsigned long count = 0;
    size_t parsed = 0;
    try {
      if (equals != std::string::npos) count = std::stoul(limit.substr(equals + 1), &parsed);
    } catch (const std::exception&) {
      parsed = 0;
    }
    if (equals == std::string::npos || name.empty() || parsed == 0 ||
        parsed != limit.size() - equals - 1 || count < 1 || count > 1'000'000) {
      return "--limit takes NAME=N with N from 1 to 1000000, not '" + limit + "'";
    }
    config.function_limits.emplace_back(name, static_cast<uint32_t>(count));
  }
  config.max_in_flight_per_user = static_cast<uint32_t>(raw.max_in_flight_per_user);
  config.slowlog = std::chrono::milliseconds(raw.slowlog_ms);
  config.socket_mode = static_cast<uint32_t>(mode);
  if (!raw.socket_group.empty()) {
    Result<std::vector<gid_t>> group = ParseGroupList(raw.socket_group);
    if (!group.ok() || group->size() != 1) {
      return "--socket-group must name one group, not '" + raw.socket_group + "'" +
             (group.ok() ? "" : " (" + group.status().message() + ")");
    }
    config.socket_group = group->front();
  }
  if (raw.allow_users.empty() && raw.allow_groups.empty()) {
    config.allowed_users = {geteuid()};
    if (geteuid() != 0) config.allowed_users.push_back(0);
  }
  if (!raw.allow_users.empty()) {
    Result<std::vector<uid_t>> users = ParseUserList(raw.allow_users);
    if (!users.ok()) return "--allow-users: " + users.status().message();
    config.allowed_users = std::move(users.value());
  }
  if (!raw.allow_groups.empty()) {
    Result<std::vector<gid_t>> groups = ParseGroupList(raw.allow_groups);
    if (!groups.ok()) return "--allow-groups: " + groups.status().message();
    config.allowed_groups = std::move(groups.value());
  }
  if (std::string problem = CheckHttpListen(raw, config); !problem.empty()) {
    return problem;
  }
  config.config_file = raw.config_file;
  for (const std::string& plugin : raw.plugins) {
    if (plugin.empty()) return "--plugin needs the path of a shared library, not an empty value";
  }
  config.plugins = raw.plugins;
  return ValidateClusterOptions(raw.cluster, config.cluster);
}

// Options that make sense on the command line only.
bool AllowedInConfigFile(const po::options_description& options, const std::string& name) {
  if (name == "help" || name == "version" || name == "config" || name == "test-config" ||
      name == "dump") {
    return false;
  }
  return options.find_nothrow(name, /*approx=*/false) != nullptr;
}

// Parses `name = value` exactly as a config file line would be parsed at
// start, then range-checks it: "" if valid, else what is wrong.
std::string CheckSetting(const std::string& name, const std::string& value) {
  DaemonConfig defaults;
  RawOptions raw;
  const po::options_description options = DescribeOptions(raw, defaults);
  std::istringstream line(name + " = " + value + "\n");
  try {
    po::variables_map values;
    po::store(po::parse_config_file(line, options), values);
    po::notify(values);
  } catch (const po::error& error) {
    return error.what();
  }
  DaemonConfig scratch;
  return Validate(raw, scratch);
}

// Every problem in the config file `path` (its normalised `text`), each
// printed with its line; returns how many.
size_t ReportConfigProblems(const std::string& path, const std::string& text,
                            const po::options_description& options, std::ostream& errors) {
  std::istringstream lines(text);
  const std::vector<ConfigProblem> problems = CheckConfigLines(
      lines, [&](const std::string& name) { return AllowedInConfigFile(options, name); },
      CheckSetting);
  for (const ConfigProblem& problem : problems) {
    errors << "taskpoold: " << FormatProblem(path, problem) << "\n";
  }
  return problems.size();
}

// --http-listen and --metrics-listen as given on the command line, or
// nothing if neither was.
std::optional<std::pair<std::string, std::string>> HttpListenFlags(
    const po::variables_map& values) {
  const auto flag = [&](const char* name) {
    return values.count(name) ? values[name].as<std::string>() : std::string();
  };
  if (values.count("http-listen") + values.count("metrics-listen") == 0) return std::nullopt;
  return std::pair(flag("http-listen"), flag("metrics-listen"));
}

int UsageError(const std::string& message, std::ostream& errors) {
  errors << "taskpoold: " << message << "\n"
            << "Try 'taskpoold --help' for the list of options.\n";
  return 2;
}

}  // namespace

ParsedCommandLine ParseDaemonCommandLine(int argc, const char* const* argv,
                                         std::ostream& errors) {
  DaemonConfig config;
  RawOptions raw;
  const po::options_description options = DescribeOptions(raw, config);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), values);
    if (values.count("help")) {
      std::cout << kUsage << "\n" << options << "\n";
      return 0;
    }
    if (values.count("version")) {
      std::cout << "taskpoold " << TASKPOOL_VERSION << "\n";
      return 0;
    }
    std::string path;
    if (values.count("config")) {
      path = values["config"].as<std::string>();
    } else if (std::filesystem::exists(kDefaultConfigFile)) {
      path = kDefaultConfigFile;
    }
    // Flags win over the file; for --http-listen that must hold under
    // either of its names, which Boost sees as two options.
    const std::optional<std::pair<std::string, std::string>> http_listen_flags =
        HttpListenFlags(values);
    if (!path.empty()) {
      std::string error;
      const std::optional<std::string> text = ReadConfigText(path, &error);
      if (!text) return UsageError(error, errors);
      // Boost stops at the first bad line; check them all first so the
      // operator fixes the file in one go.
      if (const size_t count = ReportConfigProblems(path, *text, options, errors); count != 0) {
        errors << "taskpoold: " << count << " problem" << (count == 1 ? "" : "s")
                  << " in " << path << "\n";
        return 2;
      }
      // Values already stored from the command line are not overwritten.
      std::istringstream file(*text);
      po::store(po::parse_config_file(file, options), values);
    }
    po::notify(values);
    if (http_listen_flags) std::tie(raw.http_listen, raw.metrics_listen) = *http_listen_flags;
    const std::string problem = Validate(raw, config);
    if (!problem.empty()) return UsageError(problem, errors);
    config.config_file = path;
    config.test_config = raw.test_config;
    config.dump_config = raw.dump_config;
    if (config.dump_config && !config.test_config) {
      return UsageError("--dump goes with --test-config", errors);
    }
  } catch (const po::error& error) {
    return UsageError(error.what(), errors);
  }
  return config;
}

}  // namespace taskpool::daemon
