#include "cli/map_items.h"

#include "cli/exec_job.h"
#include "cli/json_output.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

// A failure of the connection, not of the task.
bool Unreachable(const TaskResult& result, ItemReport* report) {
  if (ExitCodeFor(result.code) != kExitUnreachable) return false;
  report->ok = false;
  report->unreachable = true;
  report->unreachable_reason = result.error;
  return true;
}

JobLogEntry LogEntryFor(const ResultStream::Item& item, std::string command, uint64_t sent) {
  JobLogEntry entry;
  entry.seq = item.index + 1;
  entry.start = item.result.started;
  entry.runtime = item.result.run_time;
  entry.send_bytes = sent;
  entry.command = std::move(command);
  return entry;
}

}  // namespace

std::string MapLine(const std::string& input, const TaskResult& result) {
  std::string line = input + ": ";
  if (result.ok()) {
    line += result.output;
  } else {
    line += "error " + result.status().ToString();
  }
  line += " (worker " + std::to_string(result.worker_pid);
  if (!result.node.empty()) line += " on " + result.node;  // with --cluster
  line += ")";
  return line;
}

ItemHandler TaskItemHandler(const GlobalOptions& global, std::string function, TagMode tag,
                            OutputStreams& streams) {
  const bool json = global.json;
  return [json, function = std::move(function), tag, &streams](
             const ResultStream::Item& item, const std::string& input) {
    ItemReport report;
    const TaskResult& result = item.result;
    if (Unreachable(result, &report)) return report;
    report.ok = result.ok();
    report.exit_status = result.ok() ? kExitOk : kExitFailure;
    report.log = LogEntryFor(item, function + " " + input, input.size());
    report.log.receive_bytes = result.output.size();
    report.log.exit_value = report.exit_status;
    if (json) {
      streams.Out(JsonLine(MakeTaskRecord(function, item.index, input, result)) + "\n");
    } else if (tag == TagMode::kTag) {
      streams.Out(MapLine(input, result) + "\n");
    } else if (result.ok()) {
      streams.Out(result.output + "\n");
    } else {
      streams.Err("taskpool: " + input + ": error " + result.status().ToString() + "\n");
    }
    return report;
  };
}

ItemHandler ExecItemHandler(const GlobalOptions& global,
                            std::function<std::string(const std::string&, uint64_t)> command_of,
                            OutputStreams& streams) {
  return [global, command_of = std::move(command_of), &streams](
             const ResultStream::Item& item, const std::string& input) {
    ItemReport report;
    if (Unreachable(item.result, &report)) return report;
    const uint64_t seq = item.index + 1;
    const JobIdentity job{.who = "job " + std::to_string(seq) + " (" + input + ")",
                          .index = item.index,
                          .input = input,
                          .argv = {"/bin/sh", "-c", command_of(input, seq)}};
    const JobOutcome outcome = InterpretExecResult(item.result);
    ShowExecResult(global, item.result, outcome, job, streams);
    if (!outcome.why.empty() && !global.json) {
      streams.Err("taskpool: " + job.who + " " + outcome.why + "\n");
    }
    report.ok = outcome.why.empty();
    report.exit_status = outcome.exit_status;
    report.log = LogEntryFor(item, job.argv.back(), 0);
    if (outcome.response) {
      report.log.receive_bytes = outcome.response->stdout().size() + outcome.response->stderr().size();
      report.log.signal = outcome.response->signal();
      report.log.exit_value = outcome.response->signal() != 0 ? -1 : outcome.response->exit_code();
    } else {
      report.log.exit_value = -1;  // the command never ran (or its worker died)
    }
    return report;
  };
}

}  // namespace taskpool::cli
