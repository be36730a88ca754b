// Workers the daemon kills itself are replaced at once and are never
// counted as crashes (issue 15, item 6): one client's 1 ms timeouts must
// not put the pool into crash back-off and hold up another client.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

constexpr char kReplacedAtOnce[] = "killed by the daemon for its task; replacing it at once";
constexpr char kBackOff[] = "respawning in";

TEST(DaemonKills, TimedOutTasksDoNotPutWorkersIntoBackOff) {
  DaemonProcess daemon(2);
  auto hostile = ConnectTo(daemon.socket_path());
  ASSERT_NE(hostile, nullptr);
  SubmitOptions one_ms;
  one_ms.timeout = std::chrono::milliseconds(1);
  constexpr int kKills = 16;
  std::vector<std::future<TaskResult>> results;
  for (int i = 0; i < kKills; ++i) results.push_back(hostile->submit("sleep", "10000", one_ms));
  for (auto& result : results) EXPECT_EQ(result.get().code, ErrorCode::kTimeout);
  ASSERT_TRUE(WaitFor([&] { return CountOccurrences(daemon.log(), kReplacedAtOnce) == kKills; }))
      << daemon.log();

  // Another client is served by a worker that was never held back.
  auto other = ConnectTo(daemon.socket_path());
  ASSERT_NE(other, nullptr);
  const auto start = std::chrono::steady_clock::now();
  const TaskResult echo = other->call("echo", "still served");
  // Generous against a loaded machine; today's back-off would be 12.8 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(echo.ok()) << echo.status().ToString();

  const std::string log = daemon.log();
  EXPECT_EQ(CountOccurrences(log, kBackOff), 0u) << log;
  EXPECT_EQ(CountOccurrences(log, "CRASH RATE ALARM"), 0u) << log;
  // Every slot was refilled, once per kill.
  uint32_t restarts = 0;
  EXPECT_TRUE(WaitFor([&] {
    Result<PoolStatus> status = other->status();
    if (!status.ok()) return false;
    restarts = 0;
    bool all_idle = true;
    for (const WorkerInfo& worker : status->workers) {
      restarts += worker.restarts;
      all_idle = all_idle && worker.state == WorkerState::kIdle;
    }
    return all_idle;
  }));
  EXPECT_EQ(restarts, static_cast<uint32_t>(kKills));
}

TEST(DaemonKills, CancelWithKillIsReplacedAtOnce) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  for (int round = 0; round < 4; ++round) {
    std::promise<TaskResult> done;
    const uint64_t id =
        client->submit("sleep", "10000", [&](TaskResult result) { done.set_value(result); });
    ASSERT_TRUE(WaitFor([&] {
      Result<PoolStatus> status = client->status();
      return status.ok() && status->running == 1;
    }));
    client->cancel(id, /*kill_running=*/true);
    EXPECT_NE(done.get_future().get().code, ErrorCode::kOk);
  }
  ASSERT_TRUE(WaitFor([&] { return CountOccurrences(daemon.log(), kReplacedAtOnce) == 4; }))
      << daemon.log();
  EXPECT_EQ(CountOccurrences(daemon.log(), kBackOff), 0u) << daemon.log();
  EXPECT_TRUE(client->call("echo", "x").ok());
}

}  // namespace
}  // namespace taskpool::testing
