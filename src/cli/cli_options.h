// Command-line parsing for `taskpool`: global options, then a command and
// its own arguments, each command with its own Boost.ProgramOptions table.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace taskpool::cli {

// Exit codes of every command, for scripts (`taskpool --help` lists them;
// kExitCodesHelp below is that text).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // a task (or the command) failed
inline constexpr int kExitUsage = 2;        // a mistake on the command line
inline constexpr int kExitUnreachable = 3;  // no daemon answers, or it went away
inline constexpr int kExitTimedOut = 124;   // exec: the command timed out, as timeout(1)
inline constexpr int kExitSignalBase = 128;   // exec: 128 + N, killed by signal N
inline constexpr int kExitInterrupted = 130;  // Ctrl-C, as shells report SIGINT
// map --exec exits with the number of failed jobs, at most this (GNU
// parallel's convention).
inline constexpr int kExitMaxFailedJobs = 100;

inline constexpr char kExitCodesHelp[] =
    "Exit status:\n"
    "  0    success\n"
    "  1    a task failed (or the command could not do its job)\n"
    "  2    usage error\n"
    "  3    the daemon is not running, did not answer, or the connection was lost\n"
    "  130  interrupted (Ctrl-C)\n"
    "  exec: the command's own exit status; 128+N if signal N killed it;\n"
    "       124 if it timed out; 1 if it could not be started\n"
    "  map --exec: the number of failed jobs, at most 100 (as GNU parallel)\n";

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

// What a word on the command line names, for shell completion.
enum class WordKind {
  kNothing,   // free text
  kFunction,  // a function of the daemon (`taskpool functions --names`)
  kFile,
  kDirectory,
  kCommand,   // a program on PATH
};

// A named positional argument: one value, or every remaining one.
struct Positional {
  std::string name;  // "FN"
  bool many = false;
  bool required = true;
  WordKind completes = WordKind::kNothing;
  std::vector<std::string> choices = {};  // its values, when a closed set
};

// One command's grammar. --help, --json and --socket are added to every
// command. Shell completion reads it too (cli/completion_script.h): an
// option whose value name is FILE or DIR completes file or directory names,
// and `choices` lists the values of the others that have a closed set.
struct CommandSpec {
  std::string name;
  std::string synopsis;  // "call FN [ARG]"
  std::string summary;   // what it does, for --help
  boost::program_options::options_description options{"Options"};
  std::vector<Positional> positionals;
  std::vector<std::pair<std::string, std::vector<std::string>>> choices = {};
  // With this option given, every positional names a file (map --exec).
  std::string files_only_with = {};
};

// The options every command takes besides its own (--socket, --json,
// --help), as ParseCommand adds them.
const boost::program_options::options_description& CommonCommandOptions();

// Parses a command's arguments. nullopt when --help was given (the usage
// is printed). --json and --socket given here override the global ones.
// Throws UsageError.
std::optional<boost::program_options::variables_map> ParseCommand(
    const CommandSpec& spec, const std::vector<std::string>& args,
    GlobalOptions* global);

}  // namespace taskpool::cli
