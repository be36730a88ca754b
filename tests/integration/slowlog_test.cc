// The slow log (--slowlog-ms): a task running past the threshold is logged
// while it still runs and again when it ends; a fast task is not logged.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

TEST(SlowlogTest, LogsTheSlowTaskWhileRunningAndAtItsEndButNotTheFastOne) {
  DaemonProcess daemon(2, {"--slowlog-ms", "200"});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->slowlog_ms, 200u);

  std::future<TaskResult> slow = client->submit("sleep", "700");
  const TaskResult fast = client->call("echo", "secret-payload");
  ASSERT_TRUE(fast.ok()) << fast.error;
  const TaskResult slow_result = slow.get();
  ASSERT_TRUE(slow_result.ok()) << slow_result.error;

  const std::string log = daemon.log();
  const std::string client_pid = "client pid " + std::to_string(getpid());
  EXPECT_EQ(Count(log, "slowlog: "), 2u) << log;
  EXPECT_EQ(Count(log, "(sleep, connection "), 2u) << log;
  EXPECT_EQ(Count(log, "still running after "), 1u) << log;
  EXPECT_EQ(Count(log, ") ended OK after a run of "), 1u) << log;
  EXPECT_EQ(Count(log, client_pid), 2u) << log;
  EXPECT_NE(log.find("(pid " + std::to_string(slow_result.worker_pid) + "; --slowlog-ms 200)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("on worker pid " + std::to_string(slow_result.worker_pid)),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("(echo"), std::string::npos) << log;
  EXPECT_EQ(log.find("secret-payload"), std::string::npos) << log;
}

TEST(SlowlogTest, ATaskKilledForItsTimeoutGetsItsEndLineToo) {
  DaemonProcess daemon(1, {"--slowlog-ms", "100"});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  SubmitOptions options;
  options.timeout = std::chrono::milliseconds(500);
  const TaskResult result = client->submit("sleep", "5000", options).get();
  ASSERT_EQ(result.code, ErrorCode::kTimeout) << result.error;
  // The end line is written when the killed worker is reaped, which may
  // come just after the client has its result.
  std::string log;
  for (int i = 0; i < 500 && Count(log, "slowlog: ") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = daemon.log();
  }
  EXPECT_EQ(Count(log, "still running after "), 1u) << log;
  EXPECT_EQ(Count(log, ") ended (worker killed by signal 9 (SIGKILL)) after a run of "), 1u) << log;
}

TEST(SlowlogTest, OffByDefault) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->call("sleep", "300").ok());
  Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->slowlog_ms, 0u);
  EXPECT_EQ(daemon.log().find("slowlog"), std::string::npos) << daemon.log();
}

}  // namespace
}  // namespace taskpool::testing
