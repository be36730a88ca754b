// The exit codes scripts rely on, one row per case, against the real
// daemon: 0 ok, 1 a task failed, 2 usage, 3 no daemon, 130 interrupted;
// exec passes its command's status through (128+N for a signal, 124 on a
// timeout), and map --exec exits with the number of failed jobs, at most
// 100.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

struct ExitCase {
  const char* what;
  std::vector<std::string> args;
  int expected;
  bool no_daemon = false;  // against a socket nobody listens on
};

// map --exec over `count` jobs that each exit 1.
ExitCase FailingJobs(const char* what, int count, int expected) {
  ExitCase row{what, {"map", "--exec", "exit 1"}, expected};
  for (int i = 0; i < count; ++i) row.args.push_back(std::to_string(i));
  return row;
}

TEST(ExitCodesTest, EveryCommandExitsAsDocumented) {
  DaemonProcess daemon(3, {"--enable-exec"});
  const std::vector<ExitCase> table = {
      {"call succeeds", {"call", "echo", "x"}, 0},
      {"call's task fails", {"call", "fail", "boom"}, 1},
      {"unknown function", {"call", "no-such-function"}, 1},
      {"map with one failure", {"map", "is_prime", "7", "x"}, 1},
      {"map succeeds", {"map", "is_prime", "7", "9"}, 0},
      {"unknown command", {"frobnicate"}, 2},
      {"bad option value", {"map", "--chunksize", "zero", "echo", "1"}, 2},
      {"no daemon: ping", {"ping"}, 3, true},
      {"no daemon: call", {"call", "echo", "x"}, 3, true},
      {"no daemon: exec", {"exec", "--", "true"}, 3, true},
      {"exec passes 0 through", {"exec", "--", "true"}, 0},
      {"exec passes its status through", {"exec", "--", "sh", "-c", "exit 3"}, 3},
      {"exec passes 200 through", {"exec", "--", "sh", "-c", "exit 200"}, 200},
      {"exec: killed by SIGKILL", {"exec", "--", "sh", "-c", "kill -9 $$"}, 128 + 9},
      {"exec: killed by SIGTERM", {"exec", "--", "sh", "-c", "kill -15 $$"}, 128 + 15},
      {"exec: timed out", {"exec", "--timeout-ms", "200", "--", "sleep", "30"}, 124},
      {"exec: cannot start", {"exec", "--", "no-such-command-4711"}, 1},
      {"map --exec: all jobs ok", {"map", "--exec", "true", "a", "b"}, 0},
      FailingJobs("map --exec: 2 jobs failed", 2, 2),
      FailingJobs("map --exec: 101 jobs failed", 101, 100),
      {"map --exec --halt now,fail=1: the job's own status",
       {"map", "--exec", "exit 7", "--halt", "now,fail=1", "a"}, 7},
  };
  for (const ExitCase& row : table) {
    const std::string socket =
        row.no_daemon ? daemon.directory() + "/nobody.sock" : daemon.socket_path();
    const CommandResult result = RunCli(socket, row.args);
    EXPECT_EQ(result.exit_code, row.expected) << row.what << "\n" << result.err;
  }
}

TEST(ExitCodesTest, CtrlCDuringMapExits130AndCancelsTheRest) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const pid_t map = SpawnCommand({CliBinary(), "--socket", daemon.socket_path(), "map",
                                  "sleep", "600000", "600000"});
  ASSERT_GT(map, 0);
  // Interrupt once the first task runs: the map is waiting for it.
  bool running = false;
  for (int i = 0; i < 2000 && !running; ++i) {
    Result<PoolStatus> status = client->status();
    running = status.ok() && status->running == 1;
    if (!running) usleep(10'000);
  }
  ASSERT_TRUE(running) << "the sleep never started";
  kill(map, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(map, &status, 0), map);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

}  // namespace
}  // namespace taskpool::testing
