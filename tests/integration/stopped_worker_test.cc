// A SIGSTOPped worker (issue 14, item 6): status says it is stopped (from
// /proc, not from what the queue last heard of it), and a rolling restart
// does not wait for it forever: the stopped worker is killed and replaced,
// the roll completes, and every task gets exactly one result.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

// The worker with `pid` in `status`, or null.
const WorkerInfo* FindWorker(const PoolStatus& status, int pid) {
  for (const WorkerInfo& worker : status.workers) {
    if (worker.pid == pid) return &worker;
  }
  return nullptr;
}

// Waits until every one of `count` workers is idle; returns their pids.
std::vector<int> IdleWorkerPids(Client& client, size_t count) {
  std::vector<int> pids;
  EXPECT_TRUE(WaitFor([&] {
    pids.clear();
    const Result<PoolStatus> status = client.status();
    if (!status.ok()) return false;
    for (const WorkerInfo& worker : status->workers) {
      if (worker.state == WorkerState::kIdle) pids.push_back(worker.pid);
    }
    return pids.size() == count && status->workers.size() == count;
  })) << "the workers never all came up idle";
  return pids;
}

// Waits until status shows worker `pid` in `state`.
bool WaitForState(Client& client, int pid, WorkerState state) {
  return WaitFor([&] {
    const Result<PoolStatus> status = client.status();
    const WorkerInfo* worker = status.ok() ? FindWorker(*status, pid) : nullptr;
    return worker != nullptr && worker->state == state;
  });
}

// Two workers, the first of them SIGSTOPped while idle.
class StoppedWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = ConnectTo(daemon_.socket_path());
    ASSERT_NE(client_, nullptr);
    pids_ = IdleWorkerPids(*client_, 2);
    ASSERT_EQ(pids_.size(), 2u);
    ASSERT_EQ(kill(pids_[0], SIGSTOP), 0);
    ASSERT_TRUE(WaitForState(*client_, pids_[0], WorkerState::kStopped));
  }

  DaemonProcess daemon_{2};
  std::unique_ptr<Client> client_;
  std::vector<int> pids_;
};

TEST_F(StoppedWorkerTest, StatusShowsASigstoppedWorkerAsStoppedUntilSigcont) {
  const Result<PoolStatus> status = client_->status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(FindWorker(*status, pids_[1])->state, WorkerState::kIdle);
  const CommandResult cli = RunCli(daemon_.socket_path(), {"status"});
  EXPECT_THAT(cli.out, HasSubstr("stopped")) << cli.out;

  ASSERT_EQ(kill(pids_[0], SIGCONT), 0);
  EXPECT_TRUE(WaitForState(*client_, pids_[0], WorkerState::kIdle));
}

TEST_F(StoppedWorkerTest, RollingRestartKillsAStoppedWorkerAndEveryTaskGetsOneResult) {
  // Tasks in flight across the roll: each must end once, and OK (the
  // stopped worker was idle, so it held none of them).
  constexpr size_t kTasks = 300;
  std::vector<std::atomic<int>> results(kTasks);
  std::atomic<size_t> ok{0};
  for (size_t i = 0; i < kTasks; ++i) {
    client_->submit("echo", std::to_string(i), [&, i](TaskResult result) {
      ++results[i];
      if (result.ok()) ++ok;
    });
  }
  ASSERT_EQ(kill(daemon_.pid(), SIGHUP), 0);
  // Meanwhile status never lists more serving workers than slots.
  ASSERT_TRUE(WaitFor([&] {
    const Result<PoolStatus> status = client_->status();
    if (status.ok()) {
      size_t serving = 0;
      for (const WorkerInfo& worker : status->workers) serving += worker.retiring ? 0 : 1;
      EXPECT_LE(serving, 2u);
    }
    return CountOccurrences(daemon_.log(), "rolling restart complete") == 1;
  })) << daemon_.log();
  EXPECT_THAT(daemon_.log(), HasSubstr("is stopped and cannot retire; killing it"));
  ASSERT_TRUE(WaitFor([&] {
    size_t done = 0;
    for (const auto& count : results) done += count.load() > 0 ? 1 : 0;
    return done == kTasks;
  })) << "results missing";
  for (size_t i = 0; i < kTasks; ++i) EXPECT_EQ(results[i].load(), 1) << "task " << i;
  EXPECT_EQ(ok.load(), kTasks);

  const Result<PoolStatus> status = client_->status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->workers.size(), 2u);
  EXPECT_EQ(FindWorker(*status, pids_[0]), nullptr) << "the stopped worker is still listed";
  EXPECT_FALSE(ProcessIsAlive(pids_[0]));
  EXPECT_EQ(status->workers_died, 0u) << "a planned replacement, not a death";
}

TEST(StoppedBusyWorkerTest, ATaskOnAStoppedWorkerEndsOnceWhenTheRollKillsIt) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::future<TaskResult> held = client->submit("sleep", "600000");
  int pid = 0;
  ASSERT_TRUE(WaitFor([&] {
    const Result<PoolStatus> status = client->status();
    if (!status.ok() || status->workers.size() != 1) return false;
    pid = status->workers[0].pid;
    return status->workers[0].state == WorkerState::kBusy;
  }));
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(WaitForState(*client, pid, WorkerState::kStopped));
  const Result<PoolStatus> stopped = client->status();
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(FindWorker(*stopped, pid)->current_function, "sleep") << "its task is still its own";

  ASSERT_EQ(kill(daemon.pid(), SIGHUP), 0);
  ASSERT_EQ(held.wait_for(std::chrono::seconds(30)), std::future_status::ready) << daemon.log();
  const TaskResult result = held.get();
  EXPECT_EQ(result.code, ErrorCode::kWorkerDied);
  EXPECT_THAT(result.error, HasSubstr("by the rolling restart, since it was stopped"));
  EXPECT_TRUE(WaitFor([&] {
    return CountOccurrences(daemon.log(), "rolling restart complete") == 1;
  })) << daemon.log();
  EXPECT_EQ(client->call("echo", "after").output, "after");
}

}  // namespace
}  // namespace taskpool::testing
