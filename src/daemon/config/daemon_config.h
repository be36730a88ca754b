// taskpoold's settings: command-line flags, optionally a config file
// (INI, same option names), flags winning over the file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/log.h"
#include "daemon/cluster/cluster_config.h"
#include "daemon/serve/listen_address.h"

namespace taskpool::daemon {

struct DaemonConfig {
  std::string socket_path;          // resolved: flag, $TASKPOOL_SOCKET, default
  uint32_t workers = 0;             // 0 in the flags means "number of CPUs"
  // The queue's shared memory, about capacity x 2 x inline bytes, is
  // reserved at start: 32 MiB by default, half of Docker's 64 MiB /dev/shm,
  // the rest left for blobs. 64 KiB inline keeps payloads up to 64 KiB
  // (and chunks of 64 x 1 KiB items) out of the blobs, which cost a file
  // each; 256 slots are still far more than the workers run at once.
  uint32_t queue_capacity = 256;   // tasks queued + running at once
  uint64_t max_payload_bytes = 16ull << 20;  // per task input and output
  uint32_t inline_payload_bytes = 64 * 1024;  // kept inside a queue slot
  uint32_t max_connections = 1024;
  uint32_t max_in_flight_per_connection = 4096;
  // What the daemon may hold for one connection (unparsed input, the rest
  // of a batch, its tasks' submissions, replies not yet written) before it
  // stops reading from it.
  uint64_t max_connection_memory_bytes = 64ull << 20;
  std::chrono::milliseconds shutdown_timeout{30000};  // drain bound on SIGTERM
  std::chrono::milliseconds task_timeout{0};  // default running-time limit; 0: none
  uint64_t max_tasks_per_worker = 0;  // recycle a worker after N tasks; 0: never
  uint64_t max_worker_rss_mib = 0;    // recycle a worker above this RSS; 0: never
  uint64_t worker_memory_limit_mib = 0;  // RLIMIT_DATA of each worker; 0: none
  std::chrono::milliseconds idle_timeout{300000};  // close idle connections; 0: never
  // Slow peers: a hello within hello_timeout of the accept, and each frame
  // whole within frame_timeout of its first byte; 0: never.
  std::chrono::milliseconds hello_timeout{5000};
  std::chrono::milliseconds frame_timeout{30000};
  // Connections one client uid may hold open; resolved (never 0 after
  // parsing: --max-connections-per-user 0 means a quarter of max_connections).
  uint32_t max_connections_per_user = 256;
  uint32_t crash_rate_threshold = 0;  // deaths per minute worth an alarm; 0: 10 x workers
  bool enable_test_tasks = false;     // register crash and alloc
  bool enable_exec = false;           // register exec (shell jobs)
  // --limit NAME=N: at most N tasks of function NAME queued or running.
  std::vector<std::pair<std::string, uint32_t>> function_limits;
  // Fair share: at most N tasks of one client uid queued or running; more
  // are held in the daemon until that user's tasks finish. 0: no limit.
  uint32_t max_in_flight_per_user = 0;
  // Log a task still running after this long, and its end; 0: off.
  std::chrono::milliseconds slowlog{0};
  uint32_t socket_mode = 0660;
  std::optional<gid_t> socket_group;  // chgrp the socket to it; none: keep ours
  // Peers allowed to connect: by uid, or by any of their groups. Neither
  // option given: the daemon's own user and root.
  std::vector<uid_t> allowed_users;
  std::vector<gid_t> allowed_groups;
  base::LogLevel log_level = base::LogLevel::kInfo;
  // --http-listen: serve the status page, /status.json and /metrics over
  // HTTP there; none: off.
  std::optional<ListenAddress> http_listen;
  // The name it was given by ("--http-listen", or its older name
  // "--metrics-listen"), so messages about it use the operator's words.
  std::string http_listen_option = "--http-listen";
  std::string config_file;          // empty: none read
  // --test-config: run every check a start runs (the caller also loads the
  // plugins and resolves --limit names), report, and exit 0 or 2.
  bool test_config = false;
  // --dump (with --test-config): also print the effective configuration
  // in config-file syntax (nginx -T).
  bool dump_config = false;
  // Not an option: the listening socket systemd passed (socket activation),
  // served instead of binding socket_path; -1 when not activated.
  int listen_fd = -1;
  std::vector<std::string> plugins;  // shared libraries to load, in order
  ClusterConfig cluster;             // --cluster and its companions

  // The frame limit: a whole payload plus room for the envelope.
  static uint64_t FrameBytesFor(uint64_t payload_bytes) { return payload_bytes + (1u << 20); }
  uint64_t max_frame_bytes() const { return FrameBytesFor(max_payload_bytes); }
};

// Either the configuration to run with, or the exit code to leave with
// right away (0 after --help/--version, 2 after a usage error, with the
// message already printed).
using ParsedCommandLine = std::variant<DaemonConfig, int>;

// Reads the flags `argv` and the config file they name (or the default
// one). Every problem found goes to `errors`, one line each, prefixed
// "taskpoold: "; --help and --version print to stdout. A reload calls it
// again with the flags given at start, so the file is re-read.
ParsedCommandLine ParseDaemonCommandLine(int argc, const char* const* argv,
                                         std::ostream& errors = std::cerr);

}  // namespace taskpool::daemon
