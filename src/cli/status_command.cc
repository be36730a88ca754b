// taskpool status
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/session.h"
#include "wire/message_json.h"

namespace taskpool::cli {

int RunStatus(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{.name = "status",
                   .synopsis = "status",
                   .summary =
                       "Shows the daemon's workers (index, pid, state, "
                       "tasks done, RSS, CPU time, the task each one runs), "
                       "per-function counters and latency percentiles, its "
                       "queue and totals. With --json, the whole StatusReply "
                       "(proto/taskpool/v1/taskpool.proto) in protobuf's "
                       "JSON mapping, every field present: the document "
                       "taskpoold serves at /status.json.",
                   .positionals = {}};
  if (!ParseCommand(spec, args, &global)) return kExitOk;

  std::optional<v1::StatusReply> status = FetchStatusReplyOrReport(global, "status");
  if (!status) return kExitFailure;
  if (global.json) {
    std::cout << wire::MessageJson(*status) << "\n";
  } else {
    PrintStatusTable(*status, std::cout);
  }
  return kExitOk;
}

}  // namespace taskpool::cli
