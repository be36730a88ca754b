// The loop of `taskpool map`: takes each result from the stream as it
// comes, shows it, keeps the progress line and the joblog up to date,
// halts early when --halt says so or on Ctrl-C, and works out the exit
// code.
#pragma once

#include <functional>
#include <map>
#include <optional>

#include "cli/halt_policy.h"
#include "cli/job_log.h"
#include "cli/map_inputs.h"
#include "cli/map_items.h"
#include "cli/output_streams.h"
#include "cli/progress_meter.h"
#include "taskpool/client.hpp"

namespace taskpool::cli {

struct MapRunSettings {
  // The stream yields results in input order (imap), not as they finish.
  bool ordered = true;
  // Whether a result counts as failed for --halt, before it is shown.
  std::function<bool(const TaskResult&)> failed = {};
  HaltPolicy halt;
  // Shell jobs: the exit code is the number of failed jobs (at most
  // kExitMaxFailedJobs), or with --halt now,fail=1 the failed job's own
  // status. Otherwise it is kExitFailure if any task failed.
  bool shell_jobs = false;
  std::optional<uint64_t> total = std::nullopt;  // the number of inputs, when known
};

// Runs until every input is shown, or the daemon goes away
// (kExitUnreachable), or --halt stops it (after showing every result that
// has arrived, in order), or Ctrl-C (kExitInterrupted). Stopping early
// leaves the tasks still in flight to the caller, which closes the
// connection: the daemon then withdraws the queued ones and cancels the
// running ones. `progress` and `job_log` may be null.
int RunMapStream(ResultStream& stream, InputsInFlight& inputs, const ItemHandler& show,
                 OutputStreams& streams, ProgressMeter* progress, JobLog* job_log,
                 const MapRunSettings& settings);

}  // namespace taskpool::cli
