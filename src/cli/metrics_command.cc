// taskpool metrics
#include <iostream>

#include "cli/commands.h"
#include "cli/session.h"
#include "wire/prometheus_text.h"

namespace taskpool::cli {

CommandSpec MetricsSpec() {
  return {.name = "metrics",
          .synopsis = "metrics",
          .summary =
              "Prints the daemon's counters and gauges in the Prometheus text "
              "exposition format (for a textfile collector or a scrape wrapper).",
          .positionals = {}};
}

int RunMetrics(const GlobalOptions& global, const Arguments&) {
  std::optional<v1::StatusReply> status = FetchStatusReplyOrReport(global, "metrics");
  if (!status) return kExitUnreachable;
  std::cout << wire::RenderPrometheusText(*status);
  return kExitOk;
}

}  // namespace taskpool::cli
