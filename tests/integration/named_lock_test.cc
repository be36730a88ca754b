// Context::lock() in plugin code: a named lock among all workers that
// excludes across processes, lets other names run freely, and is released
// when its holder dies or returns.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using std::chrono::milliseconds;

// [start, finish] in unix microseconds, while a hold_lock task held its lock.
using Interval = std::pair<long long, long long>;

std::vector<Interval> HoldIntervals(const std::vector<TaskResult>& results) {
  std::vector<Interval> intervals;
  for (const TaskResult& result : results) {
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    Interval interval;
    std::istringstream(result.output) >> interval.first >> interval.second;
    intervals.push_back(interval);
  }
  std::sort(intervals.begin(), intervals.end());
  return intervals;
}

bool DirectoryExists(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

TEST(NamedLock, SameNameNeverOverlapsAcrossWorkers) {
  DaemonProcess daemon(4, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const auto started = std::chrono::steady_clock::now();
  const std::vector<TaskResult> results =
      client->map("hold_lock", std::vector<std::string>(4, "x 300"));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const std::vector<Interval> intervals = HoldIntervals(results);
  ASSERT_EQ(intervals.size(), 4u);
  for (size_t i = 1; i < intervals.size(); ++i) {
    EXPECT_LE(intervals[i - 1].second, intervals[i].first)
        << "two holders of lock 'x' overlapped";
  }
  EXPECT_GE(elapsed, milliseconds(1200));
  EXPECT_GE(intervals.back().second - intervals.front().first, 1'200'000);
}

TEST(NamedLock, DifferentNamesRunTogether) {
  DaemonProcess daemon(4, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  // Long holds, so that even on a loaded machine the four workers pick
  // their tasks up while the others still hold theirs.
  const std::vector<Interval> intervals = HoldIntervals(client->map(
      "hold_lock", {"a 2000", "b 2000", "c 2000", "d 2000"}));
  ASSERT_EQ(intervals.size(), 4u);
  bool overlapped = false;
  for (size_t i = 1; i < intervals.size(); ++i) {
    overlapped |= intervals[i].first < intervals[i - 1].second;
  }
  EXPECT_TRUE(overlapped) << "tasks with different lock names ran one by one";
}

TEST(NamedLock, KilledHolderReleasesTheLock) {
  DaemonProcess daemon(2, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::future<TaskResult> holder = client->submit("hold_lock", "k 60000");
  // Wait until the holder has the lock, as another worker sees it.
  bool held = false;
  for (int attempt = 0; attempt < 400 && !held; ++attempt) {
    held = client->call("probe_lock", "k").output == "held";
    if (!held) std::this_thread::sleep_for(milliseconds(25));
  }
  ASSERT_TRUE(held) << "hold_lock never took lock 'k'";
  const Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  int holder_pid = 0;
  for (const WorkerInfo& worker : status->workers) {
    if (worker.current_function == "hold_lock") holder_pid = worker.pid;
  }
  ASSERT_GT(holder_pid, 0);
  kill(holder_pid, SIGKILL);
  EXPECT_EQ(holder.get().code, ErrorCode::kWorkerDied);

  // Far sooner than the dead holder's 60 s.
  const TaskResult next = client->call_for("hold_lock", "k 10", milliseconds(30000));
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_NE(next.worker_pid, holder_pid);
}

TEST(NamedLock, ReleasedWhenTheFunctionReturns) {
  DaemonProcess daemon(2, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->call("hold_lock", "y 1").ok());
  EXPECT_EQ(client->call("probe_lock", "y").output, "free");
}

TEST(NamedLock, TakingAHeldNameAgainIsRefused) {
  DaemonProcess daemon(1, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult result =
      client->call_for("lock_twice", "z", milliseconds(30000));
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(result.error, "lock 'z' is already held by this task");
  // The first lock went with the task.
  EXPECT_EQ(client->call("probe_lock", "z").output, "free");
}

TEST(NamedLock, LockDirectoryLivesAsLongAsTheDaemon) {
  DaemonProcess daemon(1, {"--plugin", NAMED_LOCKS_PLUGIN_PATH});
  const std::string directory = daemon.socket_path() + ".locks";
  EXPECT_TRUE(DirectoryExists(directory));
  {
    auto client = ConnectTo(daemon.socket_path());
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->call("hold_lock", "any name / with .. slashes 1").ok());
  }
  daemon.StopWith(SIGTERM);
  EXPECT_FALSE(DirectoryExists(directory));
}

}  // namespace
}  // namespace taskpool::testing
