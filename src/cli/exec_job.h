// What `taskpool exec` and `taskpool map --exec` share: building the
// payload of the `exec` task function (taskpool.v1.ExecRequest) and showing
// what a command produced.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_options.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/exec.pb.h"

namespace taskpool::cli {

// `word` as one /bin/sh word, whatever it holds (spaces, quotes, $, `,
// newlines): single-quoted, each ' written as '\''.
std::string ShellQuote(std::string_view word);

// `command_template` with every "{}" replaced by ShellQuote(argument); if
// it has no "{}", the quoted argument is appended after a space (as GNU
// parallel does).
std::string ExpandTemplate(std::string_view command_template, std::string_view argument);

// The exec options shared by both commands (--cwd, --env, --clear-env,
// --timeout-ms, --max-output-bytes, --lock), and the request they describe
// (argv and stdin left empty). Throws UsageError on a malformed --env.
void AddExecOptions(boost::program_options::options_description* options);
v1::ExecRequest ReadExecOptions(const boost::program_options::variables_map& vm);

// Shows one job's result: in text mode the command's stdout goes to stdout
// and its stderr to stderr, byte for byte, and a truncation is noted on
// stderr naming `who` ("the command", "job 2 (a.txt)"); with --json, one
// JSON line with `fields` (an object, or null) added. Returns "" if the
// command ran and exited 0, else why not, to follow `who`: "exited with
// status 3", "was killed by SIGKILL (signal 9)", "failed: TASK_FAILED:
// exec: cannot run ...".
std::string ShowExecResult(const GlobalOptions& global, const TaskResult& result,
                           const std::string& who, nlohmann::json fields);

}  // namespace taskpool::cli
