#include "cli/cli_options.h"

#include <climits>
#include <iostream>
#include <sstream>

#include "base/socket_path.h"

namespace taskpool::cli {

namespace po = boost::program_options;

namespace {

po::options_description MakeGlobalOptions() {
  const std::string socket_help =
      "the daemon's socket (default: $TASKPOOL_SOCKET, else " +
      std::string(base::kDefaultSocketPath) + ")";
  po::options_description options("Global options");
  // clang-format off
  options.add_options()
      ("socket", po::value<std::string>()->value_name("PATH"),
       socket_help.c_str())
      ("json", "machine-readable output (one JSON object per line; "
               "docs/json/taskpool.schema.json)")
      ("help,h", "show this help")
      ("version", "show the version");
  // clang-format on
  return options;
}

// Once the command name is seen, every later token belongs to the command,
// even ones that look like options: `taskpool map --chunksize 4 ...` must
// not have --chunksize judged against the global table.
std::vector<po::option> RestAfterCommand(std::vector<std::string>& args) {
  std::vector<po::option> result;
  if (args.empty() || args.front().starts_with('-')) return result;
  for (std::string& token : args) {
    po::option positional;
    positional.position_key = INT_MAX;
    positional.value.push_back(token);
    positional.original_tokens.push_back(std::move(token));
    result.push_back(std::move(positional));
  }
  args.clear();
  return result;
}

}  // namespace

const po::options_description& GlobalOptionsTable() {
  static const po::options_description table = MakeGlobalOptions();
  return table;
}

CommandLine ParseCommandLine(int argc, const char* const* argv) {
  po::options_description all;
  all.add(GlobalOptionsTable());
  all.add_options()("command", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("command", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(all)
                  .positional(positional)
                  .extra_style_parser(RestAfterCommand)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }

  CommandLine line;
  line.help = vm.count("help") != 0;
  line.version = vm.count("version") != 0;
  line.global.json = vm.count("json") != 0;
  line.global.socket = base::ResolveSocketPath(
      vm.count("socket") ? vm["socket"].as<std::string>() : std::string());
  if (vm.count("command")) {
    line.args = vm["command"].as<std::vector<std::string>>();
    line.command = line.args.front();
    line.args.erase(line.args.begin());
  }
  return line;
}

const po::options_description& CommonCommandOptions() {
  static const po::options_description table = [] {
    // The global options that make sense after the command too:
    // `taskpool status --json` reads naturally.
    po::options_description options;
    // clang-format off
    options.add_options()
        ("socket", po::value<std::string>()->value_name("PATH"),
         "as the global --socket")
        ("json", "machine-readable output (one JSON object per line; "
                 "docs/json/taskpool.schema.json)")
        ("help,h", "show this help");
    // clang-format on
    return options;
  }();
  return table;
}

std::optional<po::variables_map> ParseCommand(
    const CommandSpec& spec, const std::vector<std::string>& args,
    GlobalOptions* global) {
  po::options_description visible = spec.options;
  visible.add(CommonCommandOptions());
  po::options_description all = visible;
  po::positional_options_description positional;
  for (const Positional& arg : spec.positionals) {
    if (arg.many) {
      all.add_options()(arg.name.c_str(),
                        po::value<std::vector<std::string>>());
    } else {
      all.add_options()(arg.name.c_str(), po::value<std::string>());
    }
    positional.add(arg.name.c_str(), arg.many ? -1 : 1);
  }

  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(args).options(all).positional(positional).run(),
        vm);
    if (vm.count("help")) {
      std::cout << "usage: taskpool [--socket PATH] [--json] " << spec.synopsis
                << "\n\n"
                << spec.summary << "\n\n"
                << visible
                << "\nPut -- before arguments that begin with '-'.\n\n"
                << kExitCodesHelp;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(spec.name + ": " + e.what());
  }
  for (const Positional& arg : spec.positionals) {
    if (arg.required && vm.count(arg.name) == 0) {
      throw UsageError(spec.name + ": missing " + arg.name);
    }
  }
  if (vm.count("json")) global->json = true;
  if (vm.count("socket")) global->socket = vm["socket"].as<std::string>();
  return vm;
}

}  // namespace taskpool::cli
