// taskpool completion bash|zsh|fish
#include <iostream>

#include "cli/commands.h"
#include "cli/completion_script.h"

namespace taskpool::cli {

CommandSpec CompletionSpec() {
  return {.name = "completion",
          .synopsis = "completion bash|zsh|fish",
          .summary =
              "Prints a shell completion script for taskpool: commands, their "
              "options and option values, file names where a file is expected, "
              "and the running daemon's function names after call and map.\n"
              "  bash:  source <(taskpool completion bash)\n"
              "  zsh:   source <(taskpool completion zsh)   (after compinit)\n"
              "  fish:  taskpool completion fish | source",
          .positionals = {{"SHELL", false, true, WordKind::kNothing, {"bash", "fish", "zsh"}}}};
}

int RunCompletion(const GlobalOptions&, const Arguments& args) {
  const std::string shell = args["SHELL"].as<std::string>();
  const CompletionModel model = BuildCompletionModel();
  if (shell == "bash") {
    std::cout << BashCompletionScript(model);
  } else if (shell == "zsh") {
    std::cout << ZshCompletionScript(model);
  } else if (shell == "fish") {
    std::cout << FishCompletionScript(model);
  } else {
    throw UsageError("completion: no script for '" + shell + "'; give bash, zsh or fish");
  }
  return kExitOk;
}

}  // namespace taskpool::cli
