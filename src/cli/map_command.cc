// taskpool map FN ARG... | taskpool map FN -
#include <csignal>
#include <functional>
#include <iostream>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/exec_job.h"
#include "cli/output.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

Client::InputSource StdinLines() {
  return []() -> std::optional<std::string> {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
}

// REQUIRES: `args` outlives the source.
Client::InputSource ArgInputs(const std::vector<std::string>& args) {
  return [&args, next = size_t{0}]() mutable -> std::optional<std::string> {
    if (next == args.size()) return std::nullopt;
    return args[next++];
  };
}

// Keeps each input's text from when the stream pulls it until its result
// is printed, so memory stays bounded by the stream's window even when the
// inputs come from an endless stdin.
//
// `to_payload`, if given, turns each input into the task's payload (for
// --exec); the input itself is what Take returns.
class InputsInFlight {
 public:
  using ToPayload = std::function<std::string(const std::string& input)>;

  explicit InputsInFlight(Client::InputSource source, ToPayload to_payload = {})
      : source_(std::move(source)), to_payload_(std::move(to_payload)) {}

  // REQUIRES: `this` outlives the returned source.
  Client::InputSource Source() {
    return [this]() -> std::optional<std::string> {
      std::optional<std::string> input = source_();
      if (!input) return input;
      in_flight_.emplace(next_index_++, *input);
      return to_payload_ ? to_payload_(*input) : input;
    };
  }

  std::string Take(size_t index) {
    auto node = in_flight_.extract(index);
    return node.empty() ? std::string() : std::move(node.mapped());
  }

 private:
  Client::InputSource source_;
  ToPayload to_payload_;
  size_t next_index_ = 0;
  std::unordered_map<size_t, std::string> in_flight_;
};

// Set by SIGINT (Ctrl-C): stop, leaving the daemon to cancel what is left.
volatile std::sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

// How often a wait for results looks at g_interrupted.
constexpr std::chrono::milliseconds kInterruptPoll{50};

// Flushes stdout only when about to wait for the daemon: results print as
// they arrive, without one write(2) per line when they arrive in bursts.
// Returns nullopt at the end of the stream or on Ctrl-C.
std::optional<ResultStream::Item> NextFlushingBeforeWait(ResultStream& stream) {
  std::optional<ResultStream::Item> item =
      stream.next_for(std::chrono::milliseconds(0));
  if (item && item->result.code == ErrorCode::kWaitTimeout) std::cout.flush();
  while (item && item->result.code == ErrorCode::kWaitTimeout && !g_interrupted) {
    item = stream.next_for(kInterruptPoll);
  }
  if (g_interrupted) return std::nullopt;
  return item;
}

// Shows one result; returns false if its task failed.
using ItemPrinter =
    std::function<bool(const std::string& input, const ResultStream::Item& item)>;

bool PrintItem(const GlobalOptions& global, const std::string& input,
               const ResultStream::Item& item) {
  if (global.json) {
    nlohmann::json line = ResultJson(item.result);
    line["index"] = item.index;
    line["input"] = input;
    std::cout << JsonLine(line) << "\n";
  } else {
    std::cout << MapLine(input, item.result) << "\n";
  }
  return item.result.ok();
}

// --exec: the job's own output, and on stderr which job failed and why.
bool PrintExecItem(const GlobalOptions& global, const std::string& input,
                   const ResultStream::Item& item) {
  const std::string who =
      "job " + std::to_string(item.index + 1) + " (" + input + ")";
  const std::string why = ShowExecResult(
      global, item.result, who, {{"index", item.index}, {"input", input}});
  if (why.empty()) return true;
  if (!global.json) ReportError(who + " " + why);
  return false;
}

// Prints every result of `stream` as it comes; the exit code.
int PrintResults(ResultStream& stream, InputsInFlight& inputs,
                 const ItemPrinter& print) {
  // Ctrl-C: closing the connection makes the daemon cancel every queued
  // task of ours; running ones finish and their results are dropped.
  std::signal(SIGINT, OnInterrupt);
  size_t failed = 0;
  while (std::optional<ResultStream::Item> item =
             NextFlushingBeforeWait(stream)) {
    if (item->result.code == ErrorCode::kConnectionLost) {
      // Every later input would fail the same way; say it once.
      std::cout.flush();
      ReportError(item->result.error);
      return kExitFailure;
    }
    if (!print(inputs.Take(item->index), *item)) ++failed;
  }
  std::cout.flush();
  if (g_interrupted) {
    ReportError("interrupted; the tasks not yet finished are cancelled");
    return kExitInterrupted;
  }
  return failed != 0 ? kExitFailure : kExitOk;
}

}  // namespace

int RunMap(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{
      .name = "map",
      .synopsis = "map [OPTIONS] FN ARG... | FN - | --exec TEMPLATE FILE... | --exec TEMPLATE -",
      .summary =
          "Runs FN on every ARG (or on every line of stdin, given -) "
          "and prints one line per input, in input order:\n"
          "  ARG: OUTPUT (worker PID)\n"
          "  ARG: error CODE: MESSAGE (worker PID)\n"
          "With --exec, runs the shell command TEMPLATE once per FILE "
          "(/bin/sh -c, {} replaced by the shell-quoted FILE) and prints "
          "each job's stdout and stderr, in input order.\n"
          "Exits 1 if any task failed.",
      .positionals = {{"FN"}, {"ARG", true, false}}};
  // clang-format off
  spec.options.add_options()
      ("chunksize", po::value<size_t>()->default_value(1)->value_name("N"),
       "run inputs N at a time as one task in one worker (Pool.map's "
       "chunksize: much faster for small tasks; a worker dying fails its "
       "whole chunk)")
      ("unordered", "print results as they finish, not in input order")
      ("exec", po::value<std::string>()->value_name("TEMPLATE"),
       "run shell jobs (like GNU parallel): every argument is a FILE, and "
       "the job runs TEMPLATE with {} replaced by it (appended if TEMPLATE "
       "has no {}); needs taskpoold --enable-exec");
  // clang-format on
  AddTaskOptions(&spec.options);
  AddExecOptions(&spec.options);
  auto vm = ParseCommand(spec, args, &global);
  if (!vm) return kExitOk;
  const size_t chunksize = (*vm)["chunksize"].as<size_t>();
  if (chunksize == 0) throw UsageError("map: --chunksize must be at least 1");
  const bool shell_jobs = vm->count("exec") != 0;
  for (const char* option : {"cwd", "env", "clear-env", "timeout-ms", "max-output-bytes"}) {
    if (!shell_jobs && vm->count(option)) {
      throw UsageError(std::string("map: --") + option + " only applies with --exec");
    }
  }
  // With --exec there is no FN: the first word is already an input.
  std::vector<std::string> arg_list;
  if (shell_jobs) arg_list.push_back((*vm)["FN"].as<std::string>());
  if (vm->count("ARG")) {
    const auto& rest = (*vm)["ARG"].as<std::vector<std::string>>();
    arg_list.insert(arg_list.end(), rest.begin(), rest.end());
  }
  if (arg_list.empty()) throw UsageError("map: missing ARG");
  const std::string function = shell_jobs ? "exec" : (*vm)["FN"].as<std::string>();
  const bool from_stdin = arg_list.size() == 1 && arg_list[0] == "-";

  InputsInFlight::ToPayload to_payload;
  ItemPrinter print = [&global](const std::string& input, const ResultStream::Item& item) {
    return PrintItem(global, input, item);
  };
  if (shell_jobs) {
    to_payload = [request = ReadExecOptions(*vm),
                  command_template = (*vm)["exec"].as<std::string>()](
                     const std::string& file) mutable {
      request.clear_argv();
      request.add_argv("/bin/sh");
      request.add_argv("-c");
      request.add_argv(ExpandTemplate(command_template, file));
      return request.SerializeAsString();
    };
    print = [&global](const std::string& input, const ResultStream::Item& item) {
      return PrintExecItem(global, input, item);
    };
  }

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  InputsInFlight inputs(from_stdin ? StdinLines() : ArgInputs(arg_list),
                        std::move(to_payload));
  const SubmitOptions options = ReadTaskOptions(*vm);
  ResultStream stream =
      vm->count("unordered")
          ? client->imap_unordered(function, inputs.Source(), chunksize, 0,
                                   options)
          : client->imap(function, inputs.Source(), chunksize, 0, options);
  return PrintResults(stream, inputs, print);
}

}  // namespace taskpool::cli
