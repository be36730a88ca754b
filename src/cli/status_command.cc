// taskpool status
#include <iostream>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "cli/output.h"
#include "cli/session.h"

namespace taskpool::cli {

CommandSpec StatusSpec() {
  return {.name = "status",
          .synopsis = "status",
          .summary =
              "Shows the daemon's workers (index, pid, state, tasks done, RSS, "
              "CPU time, the task each one runs), per-function counters and "
              "latency percentiles, its queue and totals. With --json, the "
              "whole StatusReply (proto/taskpool/v1/taskpool.proto) in "
              "protobuf's JSON mapping, every field present: the document "
              "taskpoold serves at /status.json.",
          .positionals = {}};
}

int RunStatus(const GlobalOptions& global, const Arguments&) {
  std::optional<v1::StatusReply> status = FetchStatusReplyOrReport(global, "status");
  if (!status) return kExitUnreachable;
  if (global.json) {
    std::cout << JsonLine(*status) << "\n";
  } else {
    PrintStatusTable(*status, std::cout);
  }
  return kExitOk;
}

}  // namespace taskpool::cli
