#include "daemon/config/daemon_config.h"

#include <boost/program_options.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/socket_path.h"
#include "daemon/serve/access_policy.h"
#include "daemon/config/config_file.h"

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

struct RawOptions {
  std::string socket;
  uint32_t workers = 0;
  uint32_t queue_capacity = 0;
  uint64_t max_payload_bytes = 0;
  uint32_t inline_payload_bytes = 0;
  uint32_t max_connections = 0;
  uint32_t max_in_flight = 0;
  uint32_t shutdown_timeout_ms = 0;
  uint32_t task_timeout_ms = 0;
  uint64_t max_tasks_per_worker = 0;
  uint64_t max_worker_rss_mib = 0;
  uint32_t idle_timeout_ms = 0;
  uint32_t crash_rate_threshold = 0;
  bool enable_test_tasks = false;
  bool enable_exec = false;
  std::vector<std::string> limits;
  uint32_t max_in_flight_per_user = 0;
  uint32_t slowlog_ms = 0;
  std::string socket_mode;
  std::string socket_group;
  std::string allow_users;
  std::string allow_groups;
  std::string log_level;
  std::string metrics_listen;
  std::string config_file;
  bool test_config = false;
  std::vector<std::string> plugins;
};

po::options_description DescribeOptions(RawOptions& raw, const DaemonConfig& d) {
  po::options_description options("Options");
  options.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config", po::value(&raw.config_file)->value_name("FILE"),
       "read options from FILE (INI: `name = value`, same names as the flags; "
       "flags win; default: /etc/taskpool/taskpoold.conf if it exists)")
      ("test-config", po::bool_switch(&raw.test_config),
       "check the options and the config file, report every problem with "
       "its line, and exit: 0 if valid, 2 if not")
      ("socket", po::value(&raw.socket)->value_name("PATH"),
       "Unix socket to listen on (default: $TASKPOOL_SOCKET, else "
       "/run/taskpool/taskpoold.sock)")
      ("workers", po::value(&raw.workers)->default_value(0)->value_name("N"),
       "worker processes (0: one per CPU)")
      ("queue-capacity",
       po::value(&raw.queue_capacity)->default_value(d.queue_capacity)->value_name("N"),
       "tasks that may be queued or running at once; beyond it submitters wait")
      ("max-payload-bytes",
       po::value(&raw.max_payload_bytes)->default_value(d.max_payload_bytes)->value_name("N"),
       "largest task input or output")
      ("inline-payload-bytes",
       po::value(&raw.inline_payload_bytes)->default_value(d.inline_payload_bytes)->value_name("N"),
       "payloads up to this size travel inside the queue slot; larger ones "
       "through a per-task shared-memory blob")
      ("max-connections",
       po::value(&raw.max_connections)->default_value(d.max_connections)->value_name("N"),
       "client connections served at once")
      ("max-in-flight",
       po::value(&raw.max_in_flight)->default_value(d.max_in_flight_per_connection)->value_name("N"),
       "unfinished tasks per connection; beyond it the daemon stops reading "
       "from that client until results are delivered")
      ("shutdown-timeout-ms",
       po::value(&raw.shutdown_timeout_ms)
           ->default_value(static_cast<uint32_t>(d.shutdown_timeout.count()))
           ->value_name("MS"),
       "on SIGTERM, how long running and queued tasks may take to finish "
       "before the rest are cancelled")
      ("task-timeout-ms",
       po::value(&raw.task_timeout_ms)->default_value(0)->value_name("MS"),
       "default running-time limit of a task (a submission's own timeout "
       "wins); past it the worker is killed and the task ends TIMEOUT; "
       "0: no limit")
      ("max-tasks-per-worker",
       po::value(&raw.max_tasks_per_worker)->default_value(0)->value_name("N"),
       "replace a worker after it has run N tasks (like Python's "
       "maxtasksperchild); 0: never")
      ("max-worker-rss-mib",
       po::value(&raw.max_worker_rss_mib)->default_value(0)->value_name("MIB"),
       "replace a worker whose resident memory exceeds MIB after a task "
       "(checked between tasks, never in the middle of one); 0: never")
      ("idle-timeout-ms",
       po::value(&raw.idle_timeout_ms)
           ->default_value(static_cast<uint32_t>(d.idle_timeout.count()))
           ->value_name("MS"),
       "close a connection that sends nothing and has no task in flight "
       "for this long; 0: never")
      ("crash-rate-threshold",
       po::value(&raw.crash_rate_threshold)->default_value(0)->value_name("N"),
       "log an alarm when more than N workers die within a minute; "
       "0: 10 x the number of workers")
      ("limit", po::value(&raw.limits)->composing()->value_name("NAME=N"),
       "at most N tasks of function NAME queued or running at once "
       "(repeatable)")
      ("max-in-flight-per-user",
       po::value(&raw.max_in_flight_per_user)->default_value(0)->value_name("N"),
       "fair share across users: at most N tasks of one client user (uid, "
       "from SO_PEERCRED) queued or running at once; more are held in the "
       "daemon, not rejected, and other users' tasks go ahead of them; "
       "0: no limit")
      ("slowlog-ms",
       po::value(&raw.slowlog_ms)->default_value(0)->value_name("MS"),
       "log a task still running after MS milliseconds (function, task id, "
       "client pid, worker pid, time so far), and its total run time when "
       "it ends; never its payload; 0: off")
      ("plugin",
       po::value(&raw.plugins)->composing()->value_name("PATH"),
       "load task functions from the shared library PATH (built with "
       "<taskpool/plugin.hpp>) before forking; repeatable, and config-file "
       "`plugin =` lines add to the ones given as flags")
      ("enable-test-tasks", po::bool_switch(&raw.enable_test_tasks),
       "register the `crash` and `alloc` task functions (for testing fault "
       "handling; never in production)")
      ("enable-exec", po::bool_switch(&raw.enable_exec),
       "register the `exec` task function (shell jobs): every peer the "
       "access policy admits can then run any command as this daemon's "
       "user; see README, Shell jobs")
      ("socket-mode", po::value(&raw.socket_mode)->default_value("0660")->value_name("OCTAL"),
       "permissions of the socket file")
      ("socket-group", po::value(&raw.socket_group)->value_name("GROUP"),
       "group (name or id) given to the socket file, so with --socket-mode "
       "0660 its members can connect (default: the daemon's group)")
      ("allow-users", po::value(&raw.allow_users)->value_name("LIST"),
       "comma-separated users (names or uids) allowed to use the daemon; "
       "checked with SO_PEERCRED on every connection (default, when neither "
       "this nor --allow-groups is given: the daemon's own user and root)")
      ("allow-groups", po::value(&raw.allow_groups)->value_name("LIST"),
       "comma-separated groups (names or gids): a peer whose primary or "
       "supplementary group is listed is allowed")
      ("log-level", po::value(&raw.log_level)->default_value("info")->value_name("LEVEL"),
       "debug, info, warning or error")
      ("metrics-listen", po::value(&raw.metrics_listen)->value_name("HOST:PORT"),
       "also serve the metrics of `taskpool metrics` over HTTP at "
       "http://HOST:PORT/metrics for a Prometheus scrape; HOST is an IP "
       "address ([::1] for IPv6), PORT 0 picks a free one (logged). Off by "
       "default; there is no authentication, so keep it on a private address");
  return options;
}

// Checks ranges and fills `config`; returns an error message or "".
std::string Validate(const RawOptions& raw, DaemonConfig& config) {
  if (raw.workers > 1024) return "--workers must be between 0 and 1024";
  if (raw.queue_capacity < 1 || raw.queue_capacity > 1'000'000)
    return "--queue-capacity must be between 1 and 1000000";
  if (raw.max_payload_bytes < 1 || raw.max_payload_bytes > (1ull << 30))
    return "--max-payload-bytes must be between 1 and 1073741824 (1 GiB)";
  if (raw.inline_payload_bytes < 64 || raw.inline_payload_bytes > (16u << 20))
    return "--inline-payload-bytes must be between 64 and 16777216";
  if (raw.max_connections < 1) return "--max-connections must be at least 1";
  if (raw.max_in_flight < 1) return "--max-in-flight must be at least 1";
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
  config.workers = raw.workers != 0
                       ? raw.workers
                       : std::max(1u, std::thread::hardware_concurrency());
  config.queue_capacity = raw.queue_capacity;
  config.max_payload_bytes = raw.max_payload_bytes;
  config.inline_payload_bytes = raw.inline_payload_bytes;
  config.max_connections = raw.max_connections;
  config.max_in_flight_per_connection = raw.max_in_flight;
  config.shutdown_timeout = std::chrono::milliseconds(raw.shutdown_timeout_ms);
  config.task_timeout = std::chrono::milliseconds(raw.task_timeout_ms);
  config.max_tasks_per_worker = raw.max_tasks_per_worker;
  config.max_worker_rss_mib = raw.max_worker_rss_mib;
  config.idle_timeout = std::chrono::milliseconds(raw.idle_timeout_ms);
  config.crash_rate_threshold = raw.crash_rate_threshold != 0
                                    ? raw.crash_rate_threshold
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
  config.max_in_flight_per_user = raw.max_in_flight_per_user;
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
  if (!raw.metrics_listen.empty()) {
    Result<ListenAddress> address = ParseListenAddress(raw.metrics_listen);
    if (!address.ok()) return "--metrics-listen: " + address.status().message();
    config.metrics_listen = std::move(address.value());
  }
  config.config_file = raw.config_file;
  config.plugins = raw.plugins;
  return "";
}

// Options that make sense on the command line only.
bool AllowedInConfigFile(const po::options_description& options, const std::string& name) {
  if (name == "help" || name == "version" || name == "config" || name == "test-config") {
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

// Every problem in `path`, each printed with its line; returns how many.
size_t ReportConfigProblems(const std::string& path,
                            const po::options_description& options) {
  std::ifstream file(path);
  const std::vector<ConfigProblem> problems = CheckConfigLines(
      file, [&](const std::string& name) { return AllowedInConfigFile(options, name); },
      CheckSetting);
  for (const ConfigProblem& problem : problems) {
    std::cerr << "taskpoold: " << FormatProblem(path, problem) << "\n";
  }
  return problems.size();
}

int UsageError(const std::string& message) {
  std::cerr << "taskpoold: " << message << "\n"
            << "Try 'taskpoold --help' for the list of options.\n";
  return 2;
}

}  // namespace

ParsedCommandLine ParseDaemonCommandLine(int argc, char** argv) {
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
    if (!path.empty()) {
      std::ifstream file(path);
      if (!file) return UsageError("cannot read config file '" + path + "'");
      // Boost stops at the first bad line; check them all first so the
      // operator fixes the file in one go.
      if (const size_t count = ReportConfigProblems(path, options); count != 0) {
        std::cerr << "taskpoold: " << count << " problem" << (count == 1 ? "" : "s")
                  << " in " << path << "\n";
        return 2;
      }
      // Values already stored from the command line are not overwritten.
      po::store(po::parse_config_file(file, options), values);
    }
    po::notify(values);
    const std::string problem = Validate(raw, config);
    if (!problem.empty()) return UsageError(problem);
    config.config_file = path;
    if (raw.test_config) {
      std::cout << "taskpoold: configuration OK"
                << (path.empty() ? " (no config file)" : " (" + path + ")") << "\n";
      return 0;
    }
  } catch (const po::error& error) {
    return UsageError(error.what());
  }
  return config;
}

}  // namespace taskpool::daemon
