// taskpool map FN ARG... | taskpool map FN -
#include <csignal>
#include <iostream>
#include <unordered_map>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/cli/session.h"

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
class InputsInFlight {
 public:
  explicit InputsInFlight(Client::InputSource source)
      : source_(std::move(source)) {}

  // REQUIRES: `this` outlives the returned source.
  Client::InputSource Source() {
    return [this]() -> std::optional<std::string> {
      std::optional<std::string> input = source_();
      if (input) in_flight_.emplace(next_index_++, *input);
      return input;
    };
  }

  std::string Take(size_t index) {
    auto node = in_flight_.extract(index);
    return node.empty() ? std::string() : std::move(node.mapped());
  }

 private:
  Client::InputSource source_;
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

void PrintItem(const GlobalOptions& global, const std::string& input,
               const ResultStream::Item& item) {
  if (global.json) {
    nlohmann::json line = ResultJson(item.result);
    line["index"] = item.index;
    line["input"] = input;
    std::cout << JsonLine(line) << "\n";
  } else {
    std::cout << MapLine(input, item.result) << "\n";
  }
}

}  // namespace

int RunMap(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{
      .name = "map",
      .synopsis = "map [--chunksize N] [--unordered] FN ARG... | FN -",
      .summary =
          "Runs FN on every ARG (or on every line of stdin, given -) "
          "and prints one line per input, in input order:\n"
          "  ARG: OUTPUT (worker PID)\n"
          "  ARG: error CODE: MESSAGE (worker PID)\n"
          "Exits 1 if any task failed.",
      .positionals = {{"FN"}, {"ARG", true}}};
  // clang-format off
  spec.options.add_options()
      ("chunksize", po::value<size_t>()->default_value(1)->value_name("N"),
       "send inputs to the daemon in batches of N")
      ("unordered", "print results as they finish, not in input order");
  // clang-format on
  AddTaskOptions(&spec.options);
  auto vm = ParseCommand(spec, args, &global);
  if (!vm) return kExitOk;
  const size_t chunksize = (*vm)["chunksize"].as<size_t>();
  if (chunksize == 0) throw UsageError("map: --chunksize must be at least 1");
  const std::string function = (*vm)["FN"].as<std::string>();
  const auto& arg_list = (*vm)["ARG"].as<std::vector<std::string>>();
  const bool from_stdin = arg_list.size() == 1 && arg_list[0] == "-";

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  InputsInFlight inputs(from_stdin ? StdinLines() : ArgInputs(arg_list));
  const SubmitOptions options = ReadTaskOptions(*vm);
  ResultStream stream =
      vm->count("unordered")
          ? client->imap_unordered(function, inputs.Source(), chunksize, 0,
                                   options)
          : client->imap(function, inputs.Source(), chunksize, 0, options);

  // Ctrl-C: closing the connection makes the daemon cancel every queued
  // task of ours; running ones finish and their results are dropped.
  std::signal(SIGINT, OnInterrupt);
  bool any_failed = false;
  while (std::optional<ResultStream::Item> item =
             NextFlushingBeforeWait(stream)) {
    if (item->result.code == ErrorCode::kConnectionLost) {
      // Every later input would fail the same way; say it once.
      std::cout.flush();
      ReportError(item->result.error);
      return kExitFailure;
    }
    any_failed |= !item->result.ok();
    PrintItem(global, inputs.Take(item->index), *item);
  }
  if (g_interrupted) {
    std::cout.flush();
    ReportError("interrupted; the tasks not yet finished are cancelled");
    return kExitInterrupted;
  }
  return any_failed ? kExitFailure : kExitOk;
}

}  // namespace taskpool::cli
