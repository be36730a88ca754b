// Lock keys and per-function limits: mutual exclusion across workers.
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using std::chrono::milliseconds;

class LockTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    daemon_ = std::make_unique<DaemonProcess>(4, extra);
    ClientOptions options;
    options.socket_path = daemon_->socket_path();
    auto client = Client::Connect(options);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client.value());
  }

  // Runs four 300 ms sleeps, the i-th with lock key keys[i]; returns the
  // results and the wall time.
  std::vector<TaskResult> RunFour(const std::vector<std::string>& keys,
                                  std::chrono::steady_clock::duration* wall) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::future<TaskResult>> futures;
    for (const std::string& key : keys) {
      SubmitOptions options;
      options.lock = key;
      futures.push_back(client_->submit("sleep", "300", options));
    }
    std::vector<TaskResult> results;
    for (auto& future : futures) results.push_back(future.get());
    *wall = std::chrono::steady_clock::now() - start;
    return results;
  }

  static bool Overlap(const TaskResult& a, const TaskResult& b) {
    return a.started < b.finished && b.started < a.finished;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(LockTest, SameKeyNeverOverlapsDifferentKeysDo) {
  Start();
  std::chrono::steady_clock::duration wall;
  std::vector<TaskResult> same = RunFour({"k", "k", "k", "k"}, &wall);
  for (const TaskResult& result : same) ASSERT_TRUE(result.ok()) << result.error;
  for (size_t i = 0; i < same.size(); ++i) {
    for (size_t j = i + 1; j < same.size(); ++j) {
      EXPECT_FALSE(Overlap(same[i], same[j])) << "tasks " << i << " and " << j;
    }
  }
  EXPECT_GE(wall, milliseconds(1200));

  std::vector<TaskResult> different = RunFour({"a", "b", "c", "d"}, &wall);
  bool any_overlap = false;
  for (size_t i = 0; i < different.size(); ++i) {
    ASSERT_TRUE(different[i].ok());
    for (size_t j = i + 1; j < different.size(); ++j) {
      any_overlap |= Overlap(different[i], different[j]);
    }
  }
  EXPECT_TRUE(any_overlap);
  EXPECT_LT(wall, milliseconds(1200));
}

TEST_F(LockTest, KillingTheHolderReleasesTheKey) {
  Start();
  SubmitOptions options;
  options.lock = "held";
  auto holder = client_->submit("sleep", "10000", options);
  auto next = client_->submit("echo", "after", options);
  const pid_t busy = WaitForBusyWorker(*client_);
  ASSERT_GT(busy, 0);
  EXPECT_EQ(next.wait_for(milliseconds(200)), std::future_status::timeout)
      << "the second task must wait for the key";
  kill(busy, SIGKILL);
  EXPECT_EQ(holder.get().code, ErrorCode::kWorkerDied);
  ASSERT_EQ(next.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(next.get().output, "after");
}

TEST_F(LockTest, FunctionLimitCapsConcurrency) {
  Start({"--limit", "sleep=2"});
  std::vector<std::future<TaskResult>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(client_->submit("sleep", "200"));
  std::vector<TaskResult> results;
  for (auto& future : futures) results.push_back(future.get());
  // At no start time are more than two running.
  for (const TaskResult& probe : results) {
    ASSERT_TRUE(probe.ok());
    int running = 0;
    for (const TaskResult& other : results) {
      running += other.started <= probe.started &&
                 probe.started < other.finished;
    }
    EXPECT_LE(running, 2);
  }
  // Other functions are not held back.
  EXPECT_EQ(client_->call("echo", "free").output, "free");
}

TEST_F(LockTest, LimitOnUnknownFunctionRefusesToStart) {
  CommandResult result = RunCommand({DaemonBinary(), "--socket", "/tmp/taskpool-limit.sock",
                                     "--limit", "nope=2"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown function 'nope'"), std::string::npos) << result.err;
  EXPECT_EQ(RunCommand({DaemonBinary(), "--limit", "sleep"}).exit_code, 2);
}

TEST_F(LockTest, CliLockOption) {
  Start();
  CommandResult result = RunCli(daemon_->socket_path(),
                                {"map", "--lock", "cli", "sleep", "100", "100", "100"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace
}  // namespace taskpool::testing
