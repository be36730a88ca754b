// The `taskpool` commands. Each parses its own arguments (throwing
// UsageError on mistakes), talks to the daemon and returns the exit code.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_options.h"

namespace taskpool::cli {

using CommandFn = int (*)(GlobalOptions global,
                          const std::vector<std::string>& args);

struct Command {
  std::string_view name;
  std::string_view summary;
  CommandFn run;
};

int RunCall(GlobalOptions global, const std::vector<std::string>& args);
int RunMap(GlobalOptions global, const std::vector<std::string>& args);
int RunExec(GlobalOptions global, const std::vector<std::string>& args);
int RunStatus(GlobalOptions global, const std::vector<std::string>& args);
int RunPing(GlobalOptions global, const std::vector<std::string>& args);
int RunMetrics(GlobalOptions global, const std::vector<std::string>& args);
int RunTop(GlobalOptions global, const std::vector<std::string>& args);

inline constexpr Command kCommands[] = {
    {"call", "run one task and print its output", RunCall},
    {"map", "run a function over many inputs, one line per result", RunMap},
    {"exec", "run a command in a worker (taskpoold --enable-exec)", RunExec},
    {"status", "show the daemon's workers, queue and counters", RunStatus},
    {"ping", "check that the daemon answers", RunPing},
    {"metrics", "print the daemon's counters in Prometheus text format", RunMetrics},
    {"top", "show the workers, queue and functions live, refreshed in place", RunTop},
};

}  // namespace taskpool::cli
