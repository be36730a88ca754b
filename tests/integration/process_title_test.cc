// `ps` tells the supervisor from its workers, and a busy worker from an
// idle one: the titles are read from /proc/PID/cmdline, as ps reads them.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

// The command line as ps shows it: arguments joined by spaces, the NULs
// that pad a rewritten title dropped.
std::string CommandLineOf(pid_t pid) {
  std::string text = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  return text;
}

// Waits (bounded) until `pid`'s title is `title`; returns the last one seen.
std::string WaitForTitle(pid_t pid, const std::string& title) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string seen = CommandLineOf(pid);
  while (seen != title && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = CommandLineOf(pid);
  }
  return seen;
}

TEST(ProcessTitleTest, SupervisorAndWorkersSayWhatTheyAre) {
  DaemonProcess daemon(1);
  EXPECT_EQ(WaitForTitle(daemon.pid(), "taskpoold: supervisor " + daemon.socket_path()),
            "taskpoold: supervisor " + daemon.socket_path());

  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult echoed = client->call("echo", "x");
  ASSERT_TRUE(echoed.ok()) << echoed.status().ToString();
  const pid_t worker = echoed.worker_pid;
  EXPECT_EQ(WaitForTitle(worker, "taskpoold: worker 0 (idle)"), "taskpoold: worker 0 (idle)");

  const uint64_t id = client->submit("sleep", "10000", [](TaskResult) {});
  ASSERT_NE(id, 0u);
  EXPECT_EQ(WaitForTitle(worker, "taskpoold: worker 0 (busy sleep)"),
            "taskpoold: worker 0 (busy sleep)");
  client->cancel(id, /*kill_running=*/true);
}

TEST(ProcessTitleTest, ReloadDoesNotNeedTheOverwrittenArguments) {
  // The flags are re-read on SIGHUP after argv's memory became the title.
  DaemonProcess daemon(1, {"--slowlog-ms", "70"});
  ASSERT_EQ(WaitForTitle(daemon.pid(), "taskpoold: supervisor " + daemon.socket_path()),
            "taskpoold: supervisor " + daemon.socket_path());
  ASSERT_EQ(kill(daemon.pid(), SIGHUP), 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (daemon.log().find("rolling restart complete") == std::string::npos &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string log = daemon.log();
  EXPECT_THAT(log, ::testing::HasSubstr("rolling restart complete"));
  EXPECT_EQ(log.find("reload: slowlog-ms"), std::string::npos) << "flags read back wrong:\n"
                                                               << log;
  EXPECT_EQ(log.find("reload: workers"), std::string::npos) << log;
}

}  // namespace
}  // namespace taskpool::testing
