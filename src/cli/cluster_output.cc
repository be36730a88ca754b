// The cluster part of `taskpool status` (taskpoold --cluster).
#include <iomanip>

#include "cli/output.h"

namespace taskpool::cli {

void PrintClusterStatus(const v1::ClusterStatus& cluster, std::ostream& out) {
  out << "\ncluster: queue '" << cluster.queue() << "' as node " << cluster.node() << ", ";
  if (cluster.connected()) {
    out << "connected to " << cluster.server() << "\n";
  } else {
    out << "NOT CONNECTED (" << cluster.problem() << "); tasks run here only\n";
  }
  out << std::left << std::setw(20) << "NODE" << std::right << std::setw(8) << "WORKERS"
      << std::setw(6) << "BUSY" << std::setw(8) << "QUEUED" << std::setw(12) << "HEARTBEAT"
      << "\n";
  for (const v1::NodeStatus& node : cluster.nodes()) {
    out << std::left << std::setw(20) << (node.name() + (node.self() ? " *" : "")) << std::right
        << std::setw(8) << node.workers() << std::setw(6) << node.busy() << std::setw(8)
        << node.queued() << std::setw(9) << node.last_heartbeat_ms() << " ms\n";
  }
  out << "remote: " << cluster.published() << " published, " << cluster.remote_results()
      << " results back, " << cluster.remote_in_flight() << " out, "
      << cluster.duplicates_dropped() << " duplicate results dropped; " << cluster.fetched()
      << " fetched to run here (" << cluster.redelivered() << " redelivered), "
      << cluster.dropped() << " dropped, " << cluster.lost() << " lost\n";
}

}  // namespace taskpool::cli
