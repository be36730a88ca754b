#include "daemon/config/option_table.h"

namespace po = boost::program_options;

namespace taskpool::daemon {

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
      ("dump", po::bool_switch(&raw.dump_config),
       "with --test-config: also print the effective configuration (file, "
       "flags and defaults together) in config-file syntax")
      ("socket", po::value(&raw.socket)->value_name("PATH"),
       "Unix socket to listen on (default: $TASKPOOL_SOCKET, else "
       "/run/taskpool/taskpoold.sock)")
      ("workers", po::value(&raw.workers)->default_value(int64_t{0})->value_name("N"),
       "worker processes (0: one per CPU)")
      ("queue-capacity",
       po::value(&raw.queue_capacity)->default_value(int64_t{d.queue_capacity})->value_name("N"),
       "tasks that may be queued or running at once; beyond it submitters wait")
      ("max-payload-bytes",
       po::value(&raw.max_payload_bytes)->default_value(static_cast<int64_t>(d.max_payload_bytes))->value_name("N"),
       "largest task input or output")
      ("inline-payload-bytes",
       po::value(&raw.inline_payload_bytes)->default_value(int64_t{d.inline_payload_bytes})->value_name("N"),
       "payloads up to this size travel inside the queue slot; larger ones "
       "through a per-task shared-memory blob")
      ("max-connections",
       po::value(&raw.max_connections)->default_value(int64_t{d.max_connections})->value_name("N"),
       "client connections served at once")
      ("max-connections-per-user",
       po::value(&raw.max_connections_per_user)->default_value(int64_t{0})->value_name("N"),
       "client connections one user (uid, from SO_PEERCRED) may hold open "
       "at once; more are answered TOO_MANY_CONNECTIONS; 0: a quarter of "
       "--max-connections")
      ("max-in-flight",
       po::value(&raw.max_in_flight)->default_value(int64_t{d.max_in_flight_per_connection})->value_name("N"),
       "unfinished tasks per connection; beyond it the daemon stops reading "
       "from that client until results are delivered")
      ("max-connection-memory-mib",
       po::value(&raw.max_connection_memory_mib)
           ->default_value(static_cast<int64_t>(d.max_connection_memory_bytes >> 20))
           ->value_name("MIB"),
       "memory the daemon may hold for one connection (unparsed input, its "
       "queued and waiting submissions with their payloads, replies not yet "
       "written); beyond it the daemon stops reading from that client until "
       "its replies drain; at least twice the frame limit "
       "(--max-payload-bytes + 1 MiB)")
      ("shutdown-timeout-ms",
       po::value(&raw.shutdown_timeout_ms)
           ->default_value(static_cast<int64_t>(d.shutdown_timeout.count()))
           ->value_name("MS"),
       "on SIGTERM, how long running and queued tasks may take to finish "
       "before the rest are cancelled")
      ("task-timeout-ms",
       po::value(&raw.task_timeout_ms)->default_value(int64_t{0})->value_name("MS"),
       "default running-time limit of a task (a submission's own timeout "
       "wins); past it the worker is killed and the task ends TIMEOUT; "
       "0: no limit")
      ("max-tasks-per-worker",
       po::value(&raw.max_tasks_per_worker)->default_value(int64_t{0})->value_name("N"),
       "replace a worker after it has run N tasks (like Python's "
       "maxtasksperchild); 0: never")
      ("max-worker-rss-mib",
       po::value(&raw.max_worker_rss_mib)->default_value(int64_t{0})->value_name("MIB"),
       "replace a worker whose own resident memory (heap and files, not the shared "
       "memory of the queue and of clients' payload arenas) exceeds MIB after a task "
       "(checked between tasks, never in the middle of one); 0: never")
      ("worker-memory-limit-mib",
       po::value(&raw.worker_memory_limit_mib)->default_value(int64_t{0})->value_name("MIB"),
       "limit each worker's memory (RLIMIT_DATA: heap and private mappings) "
       "to MIB; a task that allocates past it ends OUT_OF_MEMORY and its "
       "worker is replaced; 0 (no limit) or 16 to 1048576")
      ("idle-timeout-ms",
       po::value(&raw.idle_timeout_ms)
           ->default_value(static_cast<int64_t>(d.idle_timeout.count()))
           ->value_name("MS"),
       "close a connection that sends nothing and has no task in flight "
       "for this long; 0: never")
      ("hello-timeout-ms",
       po::value(&raw.hello_timeout_ms)
           ->default_value(static_cast<int64_t>(d.hello_timeout.count()))
           ->value_name("MS"),
       "close a connection that has not sent its hello this long after it "
       "was accepted; 0: never")
      ("frame-timeout-ms",
       po::value(&raw.frame_timeout_ms)
           ->default_value(static_cast<int64_t>(d.frame_timeout.count()))
           ->value_name("MS"),
       "close a connection whose frame, once begun, is not complete within "
       "this long (a client trickling bytes holds nothing for longer); "
       "0: never")
      ("crash-rate-threshold",
       po::value(&raw.crash_rate_threshold)->default_value(int64_t{0})->value_name("N"),
       "log an alarm when more than N workers die within a minute; "
       "0: 10 x the number of workers")
      ("limit", po::value(&raw.limits)->composing()->value_name("NAME=N"),
       "at most N tasks of function NAME queued or running at once "
       "(repeatable)")
      ("max-in-flight-per-user",
       po::value(&raw.max_in_flight_per_user)->default_value(int64_t{0})->value_name("N"),
       "fair share across users: at most N tasks of one client user (uid, "
       "from SO_PEERCRED) queued or running at once; more are held in the "
       "daemon, not rejected, and other users' tasks go ahead of them; "
       "0: no limit")
      ("slowlog-ms",
       po::value(&raw.slowlog_ms)->default_value(int64_t{0})->value_name("MS"),
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
      ("http-listen", po::value(&raw.http_listen)->value_name("HOST:PORT"),
       "also serve HTTP at HOST:PORT: the status page at /, its data at "
       "/status.json (as `taskpool --json status`) and the Prometheus "
       "metrics of `taskpool metrics` at /metrics; HOST is an IP address "
       "([::1] for IPv6), PORT 0 picks a free one (logged). Off by default; "
       "there is no authentication, so bind an address only those who may "
       "see the pool can reach")
      ("metrics-listen", po::value(&raw.metrics_listen)->value_name("HOST:PORT"),
       "the older name of --http-listen, still accepted");
  AddClusterOptions(options, raw.cluster);
  return options;
}

}  // namespace taskpool::daemon
