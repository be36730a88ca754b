// taskpool top: full screen inside a pseudo-terminal (as a person runs it),
// plain snapshots through a pipe, and an unreachable daemon.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/terminal_process.h"

namespace taskpool::testing {
namespace {

// `taskpool ARGS` on a terminal.
class TopInTerminal : public TerminalProcess {
 public:
  explicit TopInTerminal(const std::vector<std::string>& args)
      : TerminalProcess(WithCli(args)) {}

 private:
  static std::vector<std::string> WithCli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CliBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

// xterm's "leave the alternate screen": the terminal was given back.
constexpr char kTerminalRestored[] = "\x1b[?1049l";

std::vector<int> WorkerPids(const std::string& socket) {
  auto client = ConnectTo(socket);
  std::vector<int> pids;
  if (client == nullptr) return pids;
  Result<PoolStatus> status = client->status();
  if (!status.ok()) return pids;
  for (const WorkerInfo& worker : status->workers) pids.push_back(worker.pid);
  return pids;
}

TEST(TopTest, ShowsEveryWorkerInATerminalAndExitsAfterIterations) {
  DaemonProcess daemon(3);
  const std::vector<int> pids = WorkerPids(daemon.socket_path());
  ASSERT_EQ(pids.size(), 3u);
  TopInTerminal top({"--socket", daemon.socket_path(), "top", "--iterations", "2",
                     "--interval-ms", "200"});
  ASSERT_TRUE(top.started());
  EXPECT_EQ(top.Wait(), 0) << top.screen();
  for (const int pid : pids) {
    EXPECT_NE(top.screen().find(std::to_string(pid)), std::string::npos)
        << "worker pid " << pid << " not on the screen:\n" << top.screen();
  }
  EXPECT_NE(top.screen().find("taskpoold " TASKPOOL_VERSION " (pid " +
                              std::to_string(daemon.pid()) + ")"),
            std::string::npos)
      << top.screen();
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, QuitsOnQ) {
  DaemonProcess daemon(1);
  TopInTerminal top({"--socket", daemon.socket_path(), "top", "--interval-ms", "100"});
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil("q: quit")) << top.screen();
  top.Type("q");
  EXPECT_EQ(top.Wait(), 0) << top.screen();
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, SaysWhenTheDaemonIsNotReachableAndKeepsTrying) {
  DaemonProcess daemon(1);
  const std::string socket = daemon.socket_path();
  TopInTerminal top({"--socket", socket, "top", "--interval-ms", "100"});
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil("q: quit")) << top.screen();
  ASSERT_EQ(daemon.StopWith(SIGTERM), 0);
  EXPECT_TRUE(top.ReadUntil("daemon not reachable: ")) << top.screen();
  top.Type("\x03");  // Ctrl-C
  EXPECT_EQ(top.Wait(), 3) << "the last refresh failed";
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, PrintsPlainSnapshotsWhenNotATerminal) {
  DaemonProcess daemon(2);
  const std::vector<int> pids = WorkerPids(daemon.socket_path());
  const CommandResult result =
      RunCli(daemon.socket_path(), {"top", "--iterations", "2", "--interval-ms", "100"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << "no escape sequences in a pipe";
  for (const int pid : pids) {
    const std::string needle = " " + std::to_string(pid) + " ";
    const size_t first = result.out.find(needle);
    ASSERT_NE(first, std::string::npos) << result.out;
    EXPECT_NE(result.out.find(needle, first + 1), std::string::npos) << "two snapshots";
  }
}

TEST(TopTest, PlainModeReportsAnUnreachableDaemonAndFails) {
  const CommandResult result =
      RunCli("/nonexistent/taskpoold.sock", {"top", "--iterations", "1"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("top: daemon not reachable: "), std::string::npos) << result.err;
}

TEST(TopTest, RejectsABadInterval) {
  const CommandResult result = RunCli("", {"top", "--interval-ms", "5"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--interval-ms must be between 100 and 3600000"), std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace taskpool::testing
