// taskpool functions
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

// How long --names (which shell completion runs on every Tab) waits for a
// daemon that does not answer: long enough for a loaded machine, short
// enough that a hung daemon does not hang the shell.
constexpr std::chrono::milliseconds kNamesWait{2000};

std::string Origin(const v1::RegisteredFunction& function) {
  if (!function.disabled().empty()) return "disabled: " + function.disabled();
  if (!function.plugin().empty()) return "plugin " + function.plugin();
  return "built-in";
}

}  // namespace

CommandSpec FunctionsSpec() {
  CommandSpec spec{.name = "functions",
                   .synopsis = "functions [--names]",
                   .summary =
                       "Lists the functions the daemon offers, sorted by name, "
                       "with where each comes from: built-in, or the path of the "
                       "plugin that defines it; a built-in the daemon's "
                       "configuration turned off says how to turn it on. With "
                       "--json, one FunctionList.",
                   .positionals = {}};
  // clang-format off
  spec.options.add_options()
      ("names", "print the names only, one per line, and nothing (exit 3) "
                "when no daemon answers; for shell completion");
  // clang-format on
  return spec;
}

int RunFunctions(const GlobalOptions& global, const Arguments& args) {
  const bool names_only = args.count("names") != 0;
  std::optional<v1::StatusReply> status =
      names_only ? FetchStatusReplyOrReport(global, "functions", /*quiet=*/true, kNamesWait)
                 : FetchStatusReplyOrReport(global, "functions");
  if (!status) return kExitUnreachable;
  v1::FunctionList list;
  *list.mutable_functions() = status->registered_functions();
  if (global.json) {
    std::cout << JsonLine(list) << "\n";
    return kExitOk;
  }
  if (names_only) {
    for (const v1::RegisteredFunction& function : list.functions()) {
      std::cout << function.name() << "\n";
    }
    return kExitOk;
  }
  if (list.functions().empty()) {
    // A daemon older than the registered_functions field.
    ReportError("functions: taskpoold " + status->server_version() +
                " does not list its functions; its 'unknown function' errors name them");
    return kExitFailure;
  }
  size_t width = 8;
  for (const v1::RegisteredFunction& function : list.functions()) {
    width = std::max(width, function.name().size() + 2);
  }
  std::cout << std::left << std::setw(static_cast<int>(width)) << "FUNCTION" << "SOURCE\n";
  for (const v1::RegisteredFunction& function : list.functions()) {
    std::cout << std::setw(static_cast<int>(width)) << function.name() << Origin(function)
              << "\n";
  }
  return kExitOk;
}

}  // namespace taskpool::cli
