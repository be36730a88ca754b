// taskpool status
#include <iostream>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/cli/session.h"

namespace taskpool::cli {

int RunStatus(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{.name = "status",
                   .synopsis = "status",
                   .summary =
                       "Shows the daemon's workers (index, pid, state, "
                       "tasks done, current function), its queue and "
                       "counters.",
                   .positionals = {}};
  if (!ParseCommand(spec, args, &global)) return kExitOk;

  std::optional<PoolStatus> status = FetchStatusOrReport(global, "status");
  if (!status) return kExitFailure;
  if (global.json) {
    std::cout << JsonLine(StatusJson(*status)) << "\n";
  } else {
    PrintStatusTable(*status, std::cout);
  }
  return kExitOk;
}

}  // namespace taskpool::cli
