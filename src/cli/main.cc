// taskpool: the command-line client of taskpoold.
#include <iostream>

#include "cli/cli_options.h"
#include "cli/commands.h"

namespace taskpool::cli {

const Command* FindCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace taskpool::cli

namespace {

using namespace taskpool::cli;

void PrintUsage() {
  std::cout << "usage: taskpool [--socket PATH] [--json] COMMAND [ARGS...]\n\n"
               "Runs tasks on taskpoold, the pool of pre-forked workers.\n\n"
               "Commands:\n";
  for (const Command& command : kCommands) {
    std::cout << "  " << command.name
              << std::string(12 - command.name.size(), ' ') << command.summary
              << "\n";
  }
  std::cout << "\n"
            << GlobalOptionsTable()
            << "\n'taskpool COMMAND --help' describes a command.\n\n"
            << kExitCodesHelp;
}

int Run(int argc, char** argv) {
  const CommandLine line = ParseCommandLine(argc, argv);
  if (line.help) {
    PrintUsage();
    return kExitOk;
  }
  if (line.version) {
    std::cout << "taskpool " TASKPOOL_VERSION "\n";
    return kExitOk;
  }
  if (line.command.empty()) throw UsageError("no command given");
  const Command* command = FindCommand(line.command);
  if (command == nullptr) {
    throw UsageError("unknown command '" + line.command + "'");
  }
  GlobalOptions global = line.global;
  const std::optional<Arguments> args = ParseCommand(command->spec(), line.args, &global);
  if (!args) return kExitOk;  // --help
  return command->run(global, *args);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    return Run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "taskpool: " << e.what() << "\ntry 'taskpool --help'\n";
    return kExitUsage;
  }
}
