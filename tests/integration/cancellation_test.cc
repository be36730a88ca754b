// Context::cancelled() and Context::deadline() in plugin code, against the
// real daemon: a cancel without kill, or a client that disconnects, sets
// the flag a running function polls; the deadline it sees is the earlier
// of the submission's deadline and its timeout.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

// Waits (bounded) until the daemon's log contains `text` `count` times.
bool LogShows(const DaemonProcess& daemon, const std::string& text, int count = 1) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string log = daemon.log();
    int found = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
      ++found;
    }
    if (found >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(Cancellation, CancelWithoutKillStopsAPollingTaskAndKeepsItsWorker) {
  DaemonProcess daemon(1, {"--plugin", CANCELLATION_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::atomic<int> results{0};
  std::promise<TaskResult> cancelled;
  const uint64_t id = client->submit("poll_cancelled", "", [&](TaskResult result) {
    if (++results == 1) cancelled.set_value(std::move(result));
  });
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(LogShows(daemon, "polling cancelled()")) << daemon.log();
  client->cancel(id);  // no kill

  std::future<TaskResult> future = cancelled.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const TaskResult result = future.get();
  EXPECT_EQ(result.code, ErrorCode::kCancelled) << result.status().ToString();
  EXPECT_EQ(result.error, "stopped early");
  EXPECT_NE(result.worker_pid, 0);

  // The same worker (the only one) runs the next task, in the freed slot,
  // and the cancel is not carried over to it.
  const TaskResult next = client->call("cancelled_now", "");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next.output, "no");
  EXPECT_EQ(next.worker_pid, result.worker_pid);
  EXPECT_EQ(results.load(), 1);
}

TEST(Cancellation, DisconnectSetsTheFlagOfARunningTask) {
  DaemonProcess daemon(1, {"--plugin", CANCELLATION_PLUGIN_PATH});
  {
    auto leaving = ConnectTo(daemon.socket_path());
    ASSERT_NE(leaving, nullptr);
    ASSERT_NE(leaving->submit("poll_cancelled", "", [](TaskResult) {}), 0u);
    ASSERT_TRUE(LogShows(daemon, "polling cancelled()")) << daemon.log();
  }  // disconnects with the task running
  ASSERT_TRUE(LogShows(daemon, "saw cancelled(), stopping early")) << daemon.log();

  // The worker is free again: the next task runs, and on a clean flag.
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult next = client->call("cancelled_now", "");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next.output, "no");
}

TEST(Cancellation, CancelledTaskWhoseWorkerDiesIsNotRetried) {
  DaemonProcess daemon(1, {"--plugin", CANCELLATION_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::promise<TaskResult> ended;
  SubmitOptions retry;
  retry.max_retries = 3;
  const uint64_t id = client->submit(
      "crash_when_cancelled", "", [&](TaskResult result) { ended.set_value(std::move(result)); },
      retry);
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(LogShows(daemon, "polling cancelled()")) << daemon.log();
  client->cancel(id);
  std::future<TaskResult> future = ended.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  const TaskResult result = future.get();
  EXPECT_EQ(result.code, ErrorCode::kWorkerDied) << result.status().ToString();
  EXPECT_EQ(result.attempts, 1u);
}

// Runs remaining_ms with the given limits and checks what the task saw:
// more than nothing left, and no more than `limit_ms`.
void ExpectRemainingWithin(Client& client, int64_t deadline_ms, int64_t timeout_ms,
                           int64_t limit_ms) {
  SubmitOptions options;
  options.deadline = std::chrono::milliseconds(deadline_ms);
  options.timeout = std::chrono::milliseconds(timeout_ms);
  const TaskResult result = client.call("remaining_ms", "", options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(std::stoll(result.output), 0);
  EXPECT_LE(std::stoll(result.output), limit_ms);
}

TEST(Cancellation, DeadlineIsTheEarlierOfDeadlineAndTimeout) {
  DaemonProcess daemon(1, {"--plugin", CANCELLATION_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);

  const TaskResult unlimited = client->call("remaining_ms", "");
  ASSERT_TRUE(unlimited.ok()) << unlimited.status().ToString();
  EXPECT_EQ(unlimited.output, "none");

  // The deadline is the earlier limit, whichever of the two that is.
  ExpectRemainingWithin(*client, /*deadline=*/60'000, /*timeout=*/600'000, 60'000);
  ExpectRemainingWithin(*client, /*deadline=*/600'000, /*timeout=*/30'000, 30'000);
}

}  // namespace
}  // namespace taskpool::testing
