// taskpool ping
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "base/clock.h"
#include "cli/output.h"
#include "cli/session.h"

namespace taskpool::cli {

int RunPing(GlobalOptions global, const std::vector<std::string>& args) {
  CommandSpec spec{.name = "ping",
                   .synopsis = "ping",
                   .summary =
                       "Checks that taskpoold answers on the socket. "
                       "Exits 0 if it does, 1 if not.",
                   .positionals = {}};
  if (!ParseCommand(spec, args, &global)) return kExitOk;

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitFailure;
  const auto start = base::SteadyClock::now();
  const Status answer = client->ping();
  const std::chrono::duration<double, std::milli> elapsed =
      base::SteadyClock::now() - start;
  if (!answer.ok()) {
    ReportError("taskpoold at " + global.socket +
                " did not answer: " + answer.ToString());
    return kExitFailure;
  }
  if (global.json) {
    std::cout << JsonLine(
                     {{"socket", global.socket},
                      {"ok", true},
                      {"ms", elapsed.count()},
                      {"server_version", client->server_info().server_version}})
              << "\n";
  } else {
    std::cout << "taskpoold at " << global.socket << " answered in "
              << std::fixed << std::setprecision(2) << elapsed.count()
              << " ms\n";
  }
  return kExitOk;
}

}  // namespace taskpool::cli
