// taskpool ping
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "base/clock.h"
#include "cli/json_output.h"
#include "cli/session.h"

namespace taskpool::cli {

CommandSpec PingSpec() {
  return {.name = "ping",
          .synopsis = "ping",
          .summary =
              "Checks that taskpoold answers on the socket. Exits 0 if it "
              "does, 3 if not.",
          .positionals = {}};
}

int RunPing(const GlobalOptions& global, const Arguments&) {
  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitUnreachable;
  const auto start = base::SteadyClock::now();
  const Status answer = client->ping();
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      base::SteadyClock::now() - start);
  if (!answer.ok()) {
    ReportError("taskpoold at " + global.socket + " did not answer: " + answer.ToString());
    return kExitUnreachable;
  }
  if (global.json) {
    v1::PingRecord record;
    record.set_socket(global.socket);
    record.set_server_version(client->server_info().server_version);
    record.set_round_trip_us(base::WireMicros(elapsed));
    std::cout << JsonLine(record) << "\n";
  } else {
    std::cout << "taskpoold at " << global.socket << " answered in " << std::fixed
              << std::setprecision(2) << static_cast<double>(elapsed.count()) / 1000.0
              << " ms\n";
  }
  return kExitOk;
}

}  // namespace taskpool::cli
