// taskpool metrics
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/session.h"
#include "wire/prometheus_text.h"

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

  std::optional<v1::StatusReply> status = FetchStatusReplyOrReport(global, "metrics");
  if (!status) return kExitFailure;
  std::cout << wire::RenderPrometheusText(*status);
  return kExitOk;
}

}  // namespace taskpool::cli
