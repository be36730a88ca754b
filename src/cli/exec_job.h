// What `taskpool exec` and `taskpool map --exec` share: building the
// payload of the `exec` task function (taskpool.v1.ExecRequest), telling
// what became of a job, and showing what its command produced.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/cli_options.h"
#include "cli/output_streams.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/exec.pb.h"

namespace taskpool::cli {

// The exec options shared by both commands (--cwd, --env, --clear-env,
// --timeout-ms, --max-output-bytes), and the request they describe (argv
// and stdin left empty). Throws UsageError on a malformed --env.
void AddExecOptions(boost::program_options::options_description* options);
v1::ExecRequest ReadExecOptions(const boost::program_options::variables_map& vm);

// What became of one job.
struct JobOutcome {
  // What `taskpool exec` exits with: 0, else the command's exit status,
  // 128 + N when signal N killed it, kExitTimedOut when it timed out (by
  // --timeout-ms, or the task's --timeout killed its worker), or for a
  // task that did not run the command ExitCodeFor(code) (1, or 3 when the
  // daemon went away).
  int exit_status = kExitOk;
  // "" when the command ran and exited 0; else why not, to follow a name:
  // "exited with status 3", "was killed by SIGKILL (signal 9)", "failed:
  // TASK_FAILED: exec: cannot run ...".
  std::string why;
  // What the command did, when it ran.
  std::optional<v1::ExecResponse> response;
  // The job got no result because the connection to the daemon failed.
  bool unreachable() const { return exit_status == kExitUnreachable && !response; }
};

JobOutcome InterpretExecResult(const TaskResult& result);

// Which job it was, for messages and the JSON record.
struct JobIdentity {
  std::string who;  // "the command", "job 2 (a.txt)"
  uint64_t index = 0;
  std::string input = {};              // map --exec: the argument
  std::vector<std::string> argv = {};  // what ran
};

// Shows one job: in text mode the command's stdout goes to stdout and its
// stderr to stderr, byte for byte, and a truncation is noted on stderr
// naming `job.who`; with --json, one ExecRecord line on stdout.
void ShowExecResult(const GlobalOptions& global, const TaskResult& result,
                    const JobOutcome& outcome, const JobIdentity& job,
                    OutputStreams& streams);

}  // namespace taskpool::cli
