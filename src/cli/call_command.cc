// taskpool call FN [ARG]
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/session.h"

namespace taskpool::cli {

int RunCall(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{.name = "call",
                   .synopsis = "call FN [ARG]",
                   .summary =
                       "Runs FN on ARG (empty if not given) and prints "
                       "its output. Exits 1 if the task fails.",
                   .positionals = {{"FN"}, {"ARG", false, false}}};
  AddTaskOptions(&spec.options);
  auto vm = ParseCommand(spec, args, &global);
  if (!vm) return kExitOk;
  const std::string function = (*vm)["FN"].as<std::string>();
  const std::string input =
      vm->count("ARG") ? (*vm)["ARG"].as<std::string>() : std::string();

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  const TaskResult result = client->call(function, input, ReadTaskOptions(*vm));

  if (global.json) {
    nlohmann::json line = ResultJson(result);
    line["function"] = function;
    line["input"] = input;
    std::cout << JsonLine(line) << "\n";
  } else if (result.ok()) {
    std::cout << result.output << "\n";
  }
  if (!result.ok()) {
    ReportError(function + " failed: " + result.status().ToString());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace taskpool::cli
