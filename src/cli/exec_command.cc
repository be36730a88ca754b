// taskpool exec [OPTIONS] -- CMD [ARG...]
#include <unistd.h>

#include "cli/commands.h"
#include "cli/exec_job.h"
#include "cli/input_files.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

// The command's stdin: --stdin FILE, else ours unless it is a terminal (a
// person typing would not expect the command to wait for Ctrl-D).
Result<std::string> CommandInput(const Arguments& args, uint64_t limit) {
  if (args.count("stdin")) return ReadFileAtMost(args["stdin"].as<std::string>(), limit);
  if (isatty(STDIN_FILENO)) return std::string();
  return ReadStdinAtMost(limit);
}

}  // namespace

CommandSpec ExecSpec() {
  CommandSpec spec{
      .name = "exec",
      .synopsis = "exec [OPTIONS] -- CMD [ARG...]",
      .summary =
          "Runs CMD with its ARGs in a worker (the daemon must run with "
          "--enable-exec) and prints its stdout to stdout and its stderr to "
          "stderr. The command reads this program's stdin unless that is a "
          "terminal (or --stdin FILE). Exits with the command's own status: "
          "0, its exit status, 128+N if signal N killed it, 124 if it timed "
          "out; 1 if it could not be started, saying why.",
      .positionals = {{"CMD", true, true, WordKind::kCommand}}};
  AddExecOptions(&spec.options);
  // clang-format off
  spec.options.add_options()
      ("stdin", po::value<std::string>()->value_name("FILE"),
       "feed FILE to the command's stdin")
      ("lock", po::value<std::string>()->value_name("KEY"),
       "tasks with the same lock KEY never run at the same time");
  // clang-format on
  return spec;
}

int RunExec(const GlobalOptions& global, const Arguments& args) {
  v1::ExecRequest request = ReadExecOptions(args);
  JobIdentity job{.who = "the command"};
  for (const std::string& word : args["CMD"].as<std::vector<std::string>>()) {
    request.add_argv(word);
    job.argv.push_back(word);
  }

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitUnreachable;
  Result<std::string> input = CommandInput(args, client->server_info().max_payload_bytes);
  if (!input.ok()) {
    ReportError("exec: " + input.status().message());
    return kExitFailure;
  }
  request.set_stdin(std::move(*input));

  const TaskResult result =
      client->call("exec", request.SerializeAsString(), ReadTaskOptions(args));
  const JobOutcome outcome = InterpretExecResult(result);
  OutputStreams streams;
  if (!outcome.unreachable()) ShowExecResult(global, result, outcome, job, streams);
  if (!outcome.why.empty()) streams.Err("taskpool: the command " + outcome.why + "\n");
  streams.Flush();
  return outcome.exit_status;
}

}  // namespace taskpool::cli
