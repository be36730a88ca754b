// How the pool's status looks on the terminal. Pure formatting: no I/O
// decisions beyond the stream it is handed.
#pragma once

#include <ostream>
#include <string>

#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cli {

// The workers (with RSS, CPU time and the task each one runs), the
// per-function counters and latency percentiles, then the totals.
// (`taskpool --json status` prints the message itself: cli/json_output.h.)
// With --cluster, then the nodes and the cluster's counters.
void PrintStatusTable(const v1::StatusReply& status, std::ostream& out);

// The cluster part of those (cluster_output.cc).
void PrintClusterStatus(const v1::ClusterStatus& cluster, std::ostream& out);

}  // namespace taskpool::cli
