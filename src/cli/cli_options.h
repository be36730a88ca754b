// Command-line parsing for `taskpool`: global options, then a command and
// its own arguments, each command with its own Boost.ProgramOptions table.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace taskpool::cli {

// Exit codes of every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a task failed, daemon unreachable
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // Ctrl-C, as shells report SIGINT

// A mistake on the command line; main() prints it with a hint, exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GlobalOptions {
  std::string socket;  // resolved: --socket, $TASKPOOL_SOCKET, default
  bool json = false;
};

struct CommandLine {
  GlobalOptions global;
  bool help = false;
  bool version = false;
  std::string command;            // empty: none given
  std::vector<std::string> args;  // everything after the command
};

// Parses up to and including the command name. Throws UsageError.
CommandLine ParseCommandLine(int argc, const char* const* argv);

// The global options, for `taskpool --help`.
const boost::program_options::options_description& GlobalOptionsTable();

// A named positional argument: one value, or every remaining one.
struct Positional {
  std::string name;  // "FN"
  bool many = false;
  bool required = true;
};

// One command's grammar. --help, --json and --socket are added to every
// command.
struct CommandSpec {
  std::string name;
  std::string synopsis;  // "call FN [ARG]"
  std::string summary;   // what it does, for --help
  boost::program_options::options_description options{"Options"};
  std::vector<Positional> positionals;
};

// Parses a command's arguments. nullopt when --help was given (the usage
// is printed). --json and --socket given here override the global ones.
// Throws UsageError.
std::optional<boost::program_options::variables_map> ParseCommand(
    const CommandSpec& spec, const std::vector<std::string>& args,
    GlobalOptions* global);

}  // namespace taskpool::cli
