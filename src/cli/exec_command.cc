// taskpool exec [OPTIONS] -- CMD [ARG...]
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/exec_job.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

// At most `limit` bytes of `in`, or nullopt if it holds more.
std::optional<std::string> ReadAtMost(std::istream& in, uint64_t limit) {
  std::string data;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    data.append(buffer, static_cast<size_t>(in.gcount()));
    if (data.size() > limit) return std::nullopt;
  }
  return data;
}

// The command's stdin: --stdin FILE, else ours unless it is a terminal
// (a person typing would not expect the command to wait for Ctrl-D).
// Empty optional, with the reason reported, if it cannot be read or does
// not fit in a payload.
std::optional<std::string> CommandInput(const po::variables_map& vm, uint64_t limit) {
  std::optional<std::string> data;
  std::string source = "stdin";
  if (vm.count("stdin")) {
    source = vm["stdin"].as<std::string>();
    std::ifstream file(source, std::ios::binary);
    if (!file) {
      ReportError("exec: cannot read --stdin file '" + source + "'");
      return std::nullopt;
    }
    data = ReadAtMost(file, limit);
  } else if (isatty(STDIN_FILENO)) {
    return std::string();
  } else {
    data = ReadAtMost(std::cin, limit);
  }
  if (!data) {
    ReportError("exec: " + source + " holds more than the daemon's --max-payload-bytes (" +
                std::to_string(limit) + " bytes)");
  }
  return data;
}

}  // namespace

int RunExec(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{
      .name = "exec",
      .synopsis = "exec [OPTIONS] -- CMD [ARG...]",
      .summary =
          "Runs CMD with its ARGs in a worker (the daemon must run with "
          "--enable-exec) and prints its stdout to stdout and its stderr to "
          "stderr. The command reads this program's stdin unless that is a "
          "terminal (or --stdin FILE). Exits 0 if the command exited 0, "
          "else 1 saying its exit status or signal.",
      .positionals = {{"CMD", true}}};
  AddExecOptions(&spec.options);
  // clang-format off
  spec.options.add_options()
      ("stdin", po::value<std::string>()->value_name("FILE"),
       "feed FILE to the command's stdin")
      ("lock", po::value<std::string>()->value_name("KEY"),
       "tasks with the same lock KEY never run at the same time");
  // clang-format on
  auto vm = ParseCommand(spec, args, &global);
  if (!vm) return kExitOk;
  v1::ExecRequest request = ReadExecOptions(*vm);
  for (const std::string& word : (*vm)["CMD"].as<std::vector<std::string>>()) {
    request.add_argv(word);
  }

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  std::optional<std::string> input =
      CommandInput(*vm, client->server_info().max_payload_bytes);
  if (!input) return kExitFailure;
  request.set_stdin(std::move(*input));

  const TaskResult result =
      client->call("exec", request.SerializeAsString(), ReadTaskOptions(*vm));
  const std::string why = ShowExecResult(global, result, "the command", {});
  if (!why.empty()) {
    ReportError("the command " + why);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace taskpool::cli
