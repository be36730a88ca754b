// The `taskpool` commands. Each has a grammar (its CommandSpec, which also
// drives --help and shell completion) and a body that talks to the daemon
// and returns the exit code; main() parses the arguments against the
// grammar before calling the body. Bodies throw UsageError on mistakes
// their grammar cannot express.
#pragma once

#include <boost/program_options.hpp>
#include <string_view>

#include "cli/cli_options.h"

namespace taskpool::cli {

using Arguments = boost::program_options::variables_map;
using SpecFn = CommandSpec (*)();
using RunFn = int (*)(const GlobalOptions& global, const Arguments& args);

struct Command {
  std::string_view name;
  std::string_view summary;
  SpecFn spec;
  RunFn run;
};

CommandSpec CallSpec();
int RunCall(const GlobalOptions& global, const Arguments& args);
CommandSpec MapSpec();
int RunMap(const GlobalOptions& global, const Arguments& args);
CommandSpec ExecSpec();
int RunExec(const GlobalOptions& global, const Arguments& args);
CommandSpec StatusSpec();
int RunStatus(const GlobalOptions& global, const Arguments& args);
CommandSpec FunctionsSpec();
int RunFunctions(const GlobalOptions& global, const Arguments& args);
CommandSpec PingSpec();
int RunPing(const GlobalOptions& global, const Arguments& args);
CommandSpec MetricsSpec();
int RunMetrics(const GlobalOptions& global, const Arguments& args);
CommandSpec TopSpec();
int RunTop(const GlobalOptions& global, const Arguments& args);
CommandSpec CompletionSpec();
int RunCompletion(const GlobalOptions& global, const Arguments& args);

inline constexpr Command kCommands[] = {
    {"call", "run one task and print its output", CallSpec, RunCall},
    {"map", "run a function over many inputs, one line per result", MapSpec, RunMap},
    {"exec", "run a command in a worker (taskpoold --enable-exec)", ExecSpec, RunExec},
    {"status", "show the daemon's workers, queue and counters", StatusSpec, RunStatus},
    {"functions", "list the functions the daemon offers", FunctionsSpec, RunFunctions},
    {"ping", "check that the daemon answers", PingSpec, RunPing},
    {"metrics", "print the daemon's counters in Prometheus text format", MetricsSpec,
     RunMetrics},
    {"top", "show the workers, queue and functions live, refreshed in place", TopSpec,
     RunTop},
    {"completion", "print a bash, zsh or fish completion script", CompletionSpec,
     RunCompletion},
};

// The command called `name`, or null.
const Command* FindCommand(std::string_view name);

}  // namespace taskpool::cli
