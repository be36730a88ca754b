// The table of taskpoold's options, shared by the command line, the config
// file check and everything that lists the options (--help, the man page
// test). Numbers are read as signed 64-bit values and range-checked by
// the caller: read into an unsigned type, "-1" would wrap to 4294967295.
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {

// Every option as parsed, before validation.
struct RawOptions {
  std::string socket;
  int64_t workers = 0;
  int64_t queue_capacity = 0;
  int64_t max_payload_bytes = 0;
  int64_t inline_payload_bytes = 0;
  int64_t max_connections = 0;
  int64_t max_in_flight = 0;
  int64_t max_connection_memory_mib = 0;
  int64_t shutdown_timeout_ms = 0;
  int64_t task_timeout_ms = 0;
  int64_t max_tasks_per_worker = 0;
  int64_t max_worker_rss_mib = 0;
  int64_t worker_memory_limit_mib = 0;
  int64_t idle_timeout_ms = 0;
  int64_t hello_timeout_ms = 0;
  int64_t frame_timeout_ms = 0;
  int64_t max_connections_per_user = 0;
  int64_t crash_rate_threshold = 0;
  bool enable_test_tasks = false;
  bool enable_exec = false;
  std::vector<std::string> limits;
  int64_t max_in_flight_per_user = 0;
  int64_t slowlog_ms = 0;
  std::string socket_mode;
  std::string socket_group;
  std::string allow_users;
  std::string allow_groups;
  std::string log_level;
  std::string http_listen;
  std::string metrics_listen;  // the older name of http_listen
  std::string config_file;
  bool test_config = false;
  bool dump_config = false;
  std::vector<std::string> plugins;
  RawClusterOptions cluster;
};

// The options, bound to the fields of `raw`; `defaults` gives the values
// --help shows.
boost::program_options::options_description DescribeOptions(RawOptions& raw,
                                                            const DaemonConfig& defaults);

}  // namespace taskpool::daemon
