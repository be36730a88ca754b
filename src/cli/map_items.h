// How `taskpool map` shows one result, in each of its output modes, and
// what it tells the run about it (failed or not, the joblog line).
#pragma once

#include <functional>
#include <string>

#include "cli/cli_options.h"
#include "cli/job_log.h"
#include "cli/output_streams.h"
#include "taskpool/client.hpp"

namespace taskpool::cli {

struct ItemReport {
  bool ok = true;
  // A shell job's own exit status (JobOutcome::exit_status); 0 or 1 for a
  // task.
  int exit_status = kExitOk;
  // The daemon went away: this and every later input got no result.
  bool unreachable = false;
  std::string unreachable_reason;
  JobLogEntry log;  // seq, times, sizes, exit value, command
};

// Shows the result of input `item.index`, whose text is `input`.
using ItemHandler =
    std::function<ItemReport(const ResultStream::Item& item, const std::string& input)>;

enum class TagMode {
  kTag,    // "ARG: OUTPUT (worker PID)", failures on the same line (the default)
  kNoTag,  // "OUTPUT", failures on stderr
};

// A function's results: tagged lines, bare outputs, or TaskRecord JSON.
// REQUIRES: `streams` outlives the handler.
ItemHandler TaskItemHandler(const GlobalOptions& global, std::string function, TagMode tag,
                            OutputStreams& streams);

// Shell jobs (--exec): each job's stdout and stderr, or ExecRecord JSON;
// a failed job is named on stderr ("job 2 (b.txt) exited with status 1").
// `command_of(input, seq)` is the shell command job `seq` ran.
// REQUIRES: `streams` outlives the handler.
ItemHandler ExecItemHandler(const GlobalOptions& global,
                            std::function<std::string(const std::string&, uint64_t)> command_of,
                            OutputStreams& streams);

// `222377: false (worker 1022)`, or for a failure
// `abc: error INVALID_ARGUMENT: not a number (worker 1022)`; with
// --cluster `222377: false (worker 1022 on web2)`.
std::string MapLine(const std::string& input, const TaskResult& result);

}  // namespace taskpool::cli
