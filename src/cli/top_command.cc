// taskpool top: the pool live, refreshed in place, like htop for workers.
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "base/clock.h"
#include "cli/session.h"
#include "cli/terminal_screen.h"
#include "cli/top_view.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;
using std::chrono::milliseconds;

// How long one status request may take before the daemon counts as not
// reachable for that refresh.
constexpr milliseconds kStatusWait{5000};

// Asks for the daemon's status over one connection, reconnecting after the
// daemon went away, so a restarted daemon is picked up again.
class StatusPoller {
 public:
  explicit StatusPoller(GlobalOptions global) : global_(std::move(global)) {}

  Result<PoolStatus> Poll() {
    if (client_ == nullptr) {
      Result<std::unique_ptr<Client>> client = Connect(global_);
      if (!client.ok()) return client.status();
      client_ = std::move(client).value();
    }
    Result<PoolStatus> status = client_->status(kStatusWait);
    if (!status.ok()) client_.reset();
    return status;
  }

 private:
  GlobalOptions global_;
  std::unique_ptr<Client> client_;
};

struct TopSettings {
  milliseconds interval{1000};
  uint64_t iterations = 0;  // 0: until quit
};

std::vector<std::string> Frame(const Result<PoolStatus>& status, milliseconds interval) {
  return status.ok() ? RenderTop(status.value()) : RenderUnreachable(status.status().message(), interval);
}

// Full screen, redrawn in place; q or Ctrl-C quits.
int RunOnTerminal(StatusPoller& poller, const TopSettings& settings) {
  Result<std::unique_ptr<TerminalScreen>> screen = TerminalScreen::Open();
  if (!screen.ok()) {
    ReportError("top: " + screen.status().message());
    return kExitUsage;
  }
  bool last_ok = false;
  for (uint64_t refresh = 1;; ++refresh) {
    const auto started = base::SteadyClock::now();
    const Result<PoolStatus> status = poller.Poll();
    last_ok = status.ok();
    std::vector<std::string> lines = Frame(status, settings.interval);
    lines.push_back("");
    lines.push_back("q: quit   any other key: refresh now   (refresh every " +
                    FormatDuration(settings.interval) + ")");
    (*screen)->Draw(lines);
    if (settings.iterations != 0 && refresh >= settings.iterations) break;
    const auto elapsed = std::chrono::duration_cast<milliseconds>(
        base::SteadyClock::now() - started);
    if ((*screen)->WaitForQuitKey(settings.interval - elapsed)) break;
  }
  return last_ok ? kExitOk : kExitUnreachable;
}

// Not a terminal: one plain snapshot per refresh, blank-line separated,
// for logs and scripts. An unreachable daemon is reported on stderr.
int RunPlain(StatusPoller& poller, const TopSettings& settings) {
  bool last_ok = false;
  for (uint64_t refresh = 1;; ++refresh) {
    const auto started = base::SteadyClock::now();
    const Result<PoolStatus> status = poller.Poll();
    last_ok = status.ok();
    if (refresh > 1) std::cout << "\n";
    if (last_ok) {
      for (const std::string& line : RenderTop(status.value())) std::cout << line << "\n";
    } else {
      ReportError("top: daemon not reachable: " + status.status().message());
    }
    std::cout.flush();
    if (settings.iterations != 0 && refresh >= settings.iterations) break;
    std::this_thread::sleep_until(started + settings.interval);
  }
  return last_ok ? kExitOk : kExitUnreachable;
}

}  // namespace

CommandSpec TopSpec() {
  CommandSpec spec{.name = "top",
                   .synopsis = "top [--interval-ms MS] [--iterations N]",
                   .summary =
                       "Shows the pool live, refreshed in place like htop: the "
                       "daemon, its queue and totals, a row per worker (pid, "
                       "state, current function and how long it has run, tasks "
                       "done, restarts, RSS, CPU time, last exit), per-function "
                       "counters and latencies, and per-user tasks. q or Ctrl-C "
                       "quits. When the daemon cannot be reached it says why and "
                       "keeps trying. When stdout is not a terminal it prints "
                       "one plain snapshot per refresh instead. Exit status: 0, "
                       "or 3 if the last refresh could not reach the daemon.",
                   .positionals = {}};
  // clang-format off
  spec.options.add_options()
      ("interval-ms", po::value<uint32_t>()->default_value(1000)->value_name("MS"),
       "time between refreshes (100 to 3600000)")
      ("iterations", po::value<uint64_t>()->default_value(0)->value_name("N"),
       "exit after N refreshes (0: run until quit)");
  // clang-format on
  return spec;
}

int RunTop(const GlobalOptions& global, const Arguments& args) {
  if (global.json) {
    throw UsageError("top draws a screen and has no --json; use 'taskpool status --json'");
  }
  TopSettings settings;
  const uint32_t interval = args["interval-ms"].as<uint32_t>();
  if (interval < 100 || interval > 3'600'000) {
    throw UsageError("--interval-ms must be between 100 and 3600000, not " +
                     std::to_string(interval));
  }
  settings.interval = milliseconds(interval);
  settings.iterations = args["iterations"].as<uint64_t>();

  StatusPoller poller(global);
  if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO)) return RunOnTerminal(poller, settings);
  return RunPlain(poller, settings);
}

}  // namespace taskpool::cli
