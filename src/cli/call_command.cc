// taskpool call FN [ARG | - | @FILE]
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/input_files.h"
#include "cli/json_output.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

// Where the payload comes from, as the command line says.
struct PayloadSource {
  enum Kind { kText, kStdin, kFile } kind = kText;
  std::string text;  // kText: the payload; kFile: the path
};

PayloadSource ReadPayloadSource(const Arguments& args) {
  const bool has_arg = args.count("ARG") != 0;
  if (args.count("input-file")) {
    if (has_arg) throw UsageError("call: give ARG or --input-file, not both");
    return {PayloadSource::kFile, args["input-file"].as<std::string>()};
  }
  if (!has_arg) return {};
  const std::string arg = args["ARG"].as<std::string>();
  if (arg == "-") return {PayloadSource::kStdin, ""};
  if (arg.starts_with("@@")) return {PayloadSource::kText, arg.substr(1)};
  if (arg.starts_with("@")) {
    if (arg.size() == 1) throw UsageError("call: '@' must be followed by a file name");
    return {PayloadSource::kFile, arg.substr(1)};
  }
  return {PayloadSource::kText, arg};
}

Result<std::string> ReadPayload(const PayloadSource& source, uint64_t limit) {
  switch (source.kind) {
    case PayloadSource::kStdin:
      return ReadStdinAtMost(limit);
    case PayloadSource::kFile:
      return ReadFileAtMost(source.text, limit);
    case PayloadSource::kText:
      break;
  }
  return source.text;
}

// The output exactly as the function returned it. Only a person at a
// terminal gets a newline added, so the prompt does not follow the output.
void WriteOutput(const std::string& output) {
  std::cout << output;
  if (isatty(STDOUT_FILENO) && !output.empty() && output.back() != '\n') std::cout << '\n';
  std::cout.flush();
}

}  // namespace

CommandSpec CallSpec() {
  CommandSpec spec{.name = "call",
                   .synopsis = "call [OPTIONS] FN [ARG | - | @FILE]",
                   .summary =
                       "Runs FN on one payload and writes its output to stdout byte "
                       "for byte (a newline is added only on a terminal). The "
                       "payload is ARG; with - everything on stdin; with @FILE "
                       "(or --input-file FILE) the file's contents; empty when "
                       "none is given. Stdin and files are read as bytes, so a "
                       "binary payload (a serialized protobuf) goes through "
                       "unchanged. An ARG starting with @@ is the text after the "
                       "first @. With --json, one TaskRecord whose output is "
                       "base64.",
                   .positionals = {{"FN", false, true, WordKind::kFunction},
                                   {"ARG", false, false, WordKind::kFile}}};
  // clang-format off
  spec.options.add_options()
      ("input-file", po::value<std::string>()->value_name("FILE"),
       "send the contents of FILE as the payload");
  // clang-format on
  AddTaskOptions(&spec.options);
  return spec;
}

int RunCall(const GlobalOptions& global, const Arguments& args) {
  const std::string function = args["FN"].as<std::string>();
  const PayloadSource source = ReadPayloadSource(args);

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitUnreachable;
  Result<std::string> input = ReadPayload(source, client->server_info().max_payload_bytes);
  if (!input.ok()) {
    ReportError("call: " + input.status().message());
    return kExitFailure;
  }
  const TaskResult result = client->call(function, *input, ReadTaskOptions(args));
  const int exit_code = ExitCodeFor(result.code);
  if (exit_code == kExitUnreachable) {
    ReportError(function + ": " + result.error);
    return exit_code;
  }
  if (global.json) {
    std::cout << JsonLine(MakeTaskRecord(function, 0, *input, result)) << "\n";
    std::cout.flush();
  } else if (result.ok()) {
    WriteOutput(result.output);
  }
  if (!result.ok()) ReportError(function + " failed: " + result.status().ToString());
  return exit_code;
}

}  // namespace taskpool::cli
