#include "cli/exec_job.h"

#include <string.h>

#include "cli/json_output.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace po = boost::program_options;

namespace {

// "SIGKILL (signal 9)", or "signal 77" for one without a name.
std::string SignalName(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  const std::string number = "signal " + std::to_string(signal_number);
  if (abbreviation == nullptr) return number;
  return "SIG" + std::string(abbreviation) + " (" + number + ")";
}

void NoteTruncation(const std::string& who, const char* stream, bool truncated, size_t kept,
                    OutputStreams& streams) {
  if (!truncated) return;
  streams.Err("taskpool: " + who + ": " + stream + " truncated to " + std::to_string(kept) +
              " bytes (--max-output-bytes)\n");
}

}  // namespace

void AddExecOptions(po::options_description* options) {
  // clang-format off
  options->add_options()
      ("cwd", po::value<std::string>()->value_name("DIR"),
       "run the command in DIR (default: the daemon's directory)")
      ("env", po::value<std::vector<std::string>>()->composing()->value_name("NAME=VALUE"),
       "set an environment variable for the command (repeatable); the "
       "rest of its environment is the daemon's")
      ("clear-env", "start the command with only the --env variables")
      ("timeout-ms", po::value<uint32_t>()->value_name("N"),
       "kill the command (SIGTERM, then SIGKILL after 1 s) if it runs "
       "longer than N ms, and report the output it made until then")
      ("max-output-bytes", po::value<uint64_t>()->value_name("N"),
       "keep at most N bytes of each of stdout and stderr (default 1 MiB, "
       "at most half the daemon's --max-payload-bytes)");
  // clang-format on
}

v1::ExecRequest ReadExecOptions(const po::variables_map& vm) {
  v1::ExecRequest request;
  if (vm.count("cwd")) request.set_cwd(vm["cwd"].as<std::string>());
  if (vm.count("env")) {
    for (const std::string& entry : vm["env"].as<std::vector<std::string>>()) {
      const size_t equals = entry.find('=');
      if (equals == 0 || equals == std::string::npos) {
        throw UsageError("--env takes NAME=VALUE, not '" + entry + "'");
      }
      request.add_env(entry);
    }
  }
  request.set_clear_env(vm.count("clear-env") != 0);
  if (vm.count("timeout-ms")) request.set_timeout_ms(vm["timeout-ms"].as<uint32_t>());
  if (vm.count("max-output-bytes")) {
    request.set_max_output_bytes(vm["max-output-bytes"].as<uint64_t>());
  }
  return request;
}

JobOutcome InterpretExecResult(const TaskResult& result) {
  JobOutcome outcome;
  if (!result.ok()) {
    outcome.why = "failed: " + result.status().ToString();
    // The daemon's task timeout killed the worker, and the command with it.
    outcome.exit_status =
        result.code == ErrorCode::kTimeout ? kExitTimedOut : ExitCodeFor(result.code);
    return outcome;
  }
  v1::ExecResponse response;
  if (!response.ParseFromString(result.output)) {
    outcome.why = "failed: the daemon's answer is not an ExecResponse";
    outcome.exit_status = kExitFailure;
    return outcome;
  }
  if (response.timed_out()) {
    outcome.why = "timed out (--timeout-ms) and was killed" +
                  (response.signal() != 0 ? " by " + SignalName(response.signal())
                                          : std::string());
    outcome.exit_status = kExitTimedOut;
  } else if (response.signal() != 0) {
    outcome.why = "was killed by " + SignalName(response.signal());
    outcome.exit_status = kExitSignalBase + response.signal();
  } else if (response.exit_code() != 0) {
    outcome.why = "exited with status " + std::to_string(response.exit_code());
    outcome.exit_status = response.exit_code();
  }
  outcome.response = std::move(response);
  return outcome;
}

void ShowExecResult(const GlobalOptions& global, const TaskResult& result,
                    const JobOutcome& outcome, const JobIdentity& job,
                    OutputStreams& streams) {
  if (global.json) {
    v1::ExecRecord record;
    record.set_index(job.index);
    record.set_input(job.input);
    for (const std::string& word : job.argv) record.add_argv(word);
    record.set_ok(outcome.why.empty());
    *record.mutable_result() = ToWireResult(result);
    record.mutable_result()->clear_output();  // it is the response, decoded
    if (outcome.response) *record.mutable_response() = *outcome.response;
    streams.Out(JsonLine(record) + "\n");
    return;
  }
  if (!outcome.response) return;
  const v1::ExecResponse& response = *outcome.response;
  streams.Out(response.stdout());
  if (!response.stderr().empty()) streams.Err(response.stderr());
  NoteTruncation(job.who, "stdout", response.stdout_truncated(), response.stdout().size(),
                 streams);
  NoteTruncation(job.who, "stderr", response.stderr_truncated(), response.stderr().size(),
                 streams);
}

}  // namespace taskpool::cli
