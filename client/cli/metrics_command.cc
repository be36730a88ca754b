// taskpool metrics
#include <iostream>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/cli/prometheus.h"
#include "client/cli/session.h"

namespace taskpool::cli {

int RunMetrics(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{.name = "metrics",
                   .synopsis = "metrics",
                   .summary =
                       "Prints the daemon's counters and gauges in the "
                       "Prometheus text exposition format (for a textfile "
                       "collector or a scrape wrapper).",
                   .positionals = {}};
  if (!ParseCommand(spec, args, &global)) return kExitOk;

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  Result<PoolStatus> status = client->status();
  if (!status.ok()) {
    ReportError("metrics: " + status.status().ToString());
    return kExitFailure;
  }
  std::cout << FormatPrometheus(*status);
  return kExitOk;
}

}  // namespace taskpool::cli
