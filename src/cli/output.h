// How results and pool status look on the terminal and as JSON. Pure
// formatting: no I/O decisions beyond the stream it is handed.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cli {

// `222377: false (worker 1022)`, or for a failure
// `abc: error INVALID_ARGUMENT: not a number (worker 1022)`.
std::string MapLine(const std::string& input, const TaskResult& result);

// The fields every result has in JSON: ok, output, error, code, worker_pid,
// queue_ms, run_ms, attempts.
nlohmann::json ResultJson(const TaskResult& result);

// One line of JSON. Outputs are bytes, not necessarily UTF-8; invalid
// sequences become U+FFFD rather than aborting the output.
std::string JsonLine(const nlohmann::json& value);

// The workers (with RSS, CPU time and the task each one runs), the
// per-function counters and latency percentiles, then the totals.
// With --cluster, then the nodes and the cluster's counters.
void PrintStatusTable(const v1::StatusReply& status, std::ostream& out);
nlohmann::json StatusJson(const v1::StatusReply& status);

// The cluster part of those (cluster_output.cc).
void PrintClusterStatus(const v1::ClusterStatus& cluster, std::ostream& out);
nlohmann::json ClusterJson(const v1::ClusterStatus& cluster);

}  // namespace taskpool::cli
