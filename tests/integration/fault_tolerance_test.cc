// Nothing lost, nothing hung: worker deaths, timeouts, deadlines,
// cancellation, recycling and rolling restarts against the real daemon.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <future>
#include <set>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

using std::chrono::milliseconds;

class FaultToleranceTest : public ::testing::Test {
 protected:
  void Start(int workers, std::vector<std::string> extra = {}) {
    // Under AddressSanitizer, let crashes be the crashes they are (not a
    // sanitizer report and exit 1), and let a failed allocation return null.
    setenv("ASAN_OPTIONS", "handle_segv=0:allocator_may_return_null=1:detect_leaks=0", 1);
    extra.push_back("--enable-test-tasks");
    daemon_ = std::make_unique<DaemonProcess>(workers, extra);
    client_ = Connect();
  }

  std::unique_ptr<Client> Connect() { return ConnectTo(daemon_->socket_path()); }

  std::set<int> WorkerPids() {
    std::set<int> pids;
    auto status = client_->status();
    EXPECT_TRUE(status.ok());
    if (status.ok()) {
      for (const auto& worker : status->workers) {
        if (worker.state != WorkerState::kDead) pids.insert(worker.pid);
      }
    }
    return pids;
  }

  // Waits until `count` workers are alive (respawns may be delayed).
  void ExpectLiveWorkers(size_t count) {
    for (int attempt = 0; attempt < 300; ++attempt) {
      if (WorkerPids().size() == count) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "expected " << count << " live workers; log:\n" << daemon_->log();
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

struct DeathCase {
  const char* how;
  const char* mentions;
};

TEST_F(FaultToleranceTest, EachDeathCauseEndsItsTaskWorkerDied) {
  Start(2);
  for (const DeathCase& death : {DeathCase{"segv", "SIGSEGV"}, DeathCase{"abort", "SIGABRT"},
                                 DeathCase{"exit", "exited with status 3"},
                                 DeathCase{"oom", "SIGKILL"}}) {
    TaskResult result = client_->call("crash", death.how);
    EXPECT_EQ(result.code, ErrorCode::kWorkerDied) << death.how << ": " << result.error;
    EXPECT_NE(result.error.find(death.mentions), std::string::npos)
        << death.how << ": " << result.error;
    EXPECT_EQ(result.attempts, 1u);
    // The pool carries on.
    EXPECT_EQ(client_->call("echo", "after").output, "after");
  }
  ExpectLiveWorkers(2);
}

TEST_F(FaultToleranceTest, TasksQueuedBehindADeathAreUntouched) {
  Start(1);
  auto crashing = client_->submit("crash", "segv");
  std::vector<std::future<TaskResult>> behind;
  for (int i = 0; i < 20; ++i) behind.push_back(client_->submit("echo", std::to_string(i)));
  EXPECT_EQ(crashing.get().code, ErrorCode::kWorkerDied);
  for (int i = 0; i < 20; ++i) {
    TaskResult result = behind[i].get();
    EXPECT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.output, std::to_string(i));
  }
}

TEST_F(FaultToleranceTest, AlwaysCrashingTaskWithTwoRetriesEndsAfterThreeAttempts) {
  Start(2);
  SubmitOptions options;
  options.max_retries = 2;
  TaskResult result = client_->call("crash", "abort", options);
  EXPECT_EQ(result.code, ErrorCode::kWorkerDied) << result.error;
  EXPECT_EQ(result.attempts, 3u);
}

TEST_F(FaultToleranceTest, RetryAfterAnExternalKillSucceeds) {
  Start(2);
  SubmitOptions options;
  options.max_retries = 1;
  auto result = client_->submit("sleep", "300", options);
  const pid_t busy = WaitForBusyWorker(*client_);
  ASSERT_GT(busy, 0);
  kill(busy, SIGKILL);
  TaskResult outcome = result.get();
  EXPECT_TRUE(outcome.ok()) << outcome.error;
  EXPECT_EQ(outcome.attempts, 2u);
  EXPECT_NE(outcome.worker_pid, busy);
}

TEST_F(FaultToleranceTest, TimeoutKillsTheWorkerAndEndsTimeout) {
  Start(2);
  SubmitOptions options;
  options.timeout = milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  TaskResult result = client_->call("sleep", "10000", options);
  EXPECT_EQ(result.code, ErrorCode::kTimeout) << result.error;
  EXPECT_NE(result.error.find("200 ms"), std::string::npos) << result.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // Tasks shorter than their timeout are unaffected.
  EXPECT_TRUE(client_->call("sleep", "10", options).ok());
  ExpectLiveWorkers(2);
}

TEST_F(FaultToleranceTest, DaemonWideDefaultTimeout) {
  Start(1, {"--task-timeout-ms", "150"});
  EXPECT_EQ(client_->call("sleep", "5000").code, ErrorCode::kTimeout);
  SubmitOptions longer;
  longer.timeout = milliseconds(2000);
  EXPECT_TRUE(client_->call("sleep", "300", longer).ok());
}

TEST_F(FaultToleranceTest, DeadlinePassedInTheQueueEndsExpiredWithoutRunning) {
  Start(1);
  auto blocker = client_->submit("sleep", "500");
  SubmitOptions options;
  options.deadline = milliseconds(100);
  TaskResult result = client_->call("echo", "too late", options);
  EXPECT_EQ(result.code, ErrorCode::kExpired) << result.error;
  EXPECT_EQ(result.worker_pid, 0);
  EXPECT_TRUE(blocker.get().ok());
  // Within its deadline a task runs normally.
  options.deadline = milliseconds(5000);
  EXPECT_TRUE(client_->call("echo", "in time", options).ok());
}

TEST_F(FaultToleranceTest, CancelQueuedNeverRunsAndCancelRunningWithKill) {
  Start(1);
  RawConnection raw(daemon_->socket_path());
  ASSERT_TRUE(raw.Greet());
  raw.Submit(1, "sleep", "5000");  // runs
  raw.Submit(2, "echo", "queued");  // waits behind it
  ASSERT_GT(WaitForBusyWorker(*client_), 0);
  v1::ClientMessage cancel;
  cancel.mutable_cancel()->set_id(2);
  raw.Send(cancel);
  auto first = raw.Receive();
  ASSERT_TRUE(first.has_value() && first->has_result());
  EXPECT_EQ(first->result().id(), 2u);
  EXPECT_EQ(first->result().code(), v1::CANCELLED);
  EXPECT_EQ(first->result().worker_pid(), 0);

  cancel.mutable_cancel()->set_id(1);
  cancel.mutable_cancel()->set_kill_running(true);
  raw.Send(cancel);
  auto second = raw.Receive();
  ASSERT_TRUE(second.has_value() && second->has_result());
  EXPECT_EQ(second->result().id(), 1u);
  EXPECT_EQ(second->result().code(), v1::CANCELLED) << second->result().error();
  ExpectLiveWorkers(1);
}

TEST_F(FaultToleranceTest, LibraryCancelByIdQueuedAndRunning) {
  Start(1);
  std::promise<TaskResult> running_result, queued_result;
  const uint64_t running = client_->submit(
      "sleep", "5000", [&](TaskResult r) { running_result.set_value(std::move(r)); });
  const uint64_t queued = client_->submit(
      "echo", "x", [&](TaskResult r) { queued_result.set_value(std::move(r)); });
  ASSERT_NE(running, 0u);
  ASSERT_NE(queued, 0u);
  ASSERT_GT(WaitForBusyWorker(*client_), 0);
  client_->cancel(queued);
  EXPECT_EQ(queued_result.get_future().get().code, ErrorCode::kCancelled);
  client_->cancel(running, /*kill_running=*/true);
  auto future = running_result.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(3)), std::future_status::ready);
  EXPECT_EQ(future.get().code, ErrorCode::kCancelled);
}

TEST_F(FaultToleranceTest, CancelRunningWithoutKillLetsItFinish) {
  Start(1);
  RawConnection raw(daemon_->socket_path());
  ASSERT_TRUE(raw.Greet());
  raw.Submit(1, "sleep", "200");
  ASSERT_GT(WaitForBusyWorker(*client_), 0);  // a cancel must find it running
  v1::ClientMessage cancel;
  cancel.mutable_cancel()->set_id(1);
  raw.Send(cancel);
  auto result = raw.Receive();
  ASSERT_TRUE(result.has_value() && result->has_result());
  EXPECT_EQ(result->result().code(), v1::OK);
}

TEST_F(FaultToleranceTest, MaxTasksPerWorkerRecyclesWithoutLosingTasks) {
  Start(1, {"--max-tasks-per-worker", "3"});
  std::vector<std::string> inputs(10, "x");
  std::vector<int> pids;
  for (const TaskResult& result : client_->map("echo", inputs)) {
    ASSERT_TRUE(result.ok()) << result.error;
    pids.push_back(result.worker_pid);
  }
  // One worker, replaced after every third task.
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 4u);
  for (size_t i = 0; i + 1 < pids.size(); ++i) {
    EXPECT_EQ(pids[i] == pids[i + 1], (i + 1) % 3 != 0) << "task " << i;
  }
}

TEST_F(FaultToleranceTest, MaxWorkerRssRecyclesAfterTheTask) {
  Start(1, {"--max-worker-rss-mib", "64"});
  TaskResult big = client_->call("alloc", "128");
  ASSERT_TRUE(big.ok()) << big.error;  // finished, never interrupted
  TaskResult next = client_->call("echo", "x");
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next.worker_pid, big.worker_pid);
  TaskResult small = client_->call("alloc", "1");
  EXPECT_EQ(client_->call("echo", "y").worker_pid, small.worker_pid);
}

TEST_F(FaultToleranceTest, SighupReplacesEveryWorkerWithoutFailingTasks) {
  Start(2);
  const std::set<int> before = WorkerPids();
  std::vector<std::future<TaskResult>> running;
  for (int i = 0; i < 8; ++i) running.push_back(client_->submit("sleep", "150"));
  ASSERT_TRUE(client_->ping().ok());
  kill(daemon_->pid(), SIGHUP);
  for (auto& result : running) {
    TaskResult outcome = result.get();
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  }
  std::set<int> after;
  for (int attempt = 0; attempt < 200; ++attempt) {
    after = WorkerPids();
    bool disjoint = after.size() == 2;
    for (int pid : after) disjoint &= !before.contains(pid);
    if (disjoint) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(after.size(), 2u);
  for (int pid : after) EXPECT_FALSE(before.contains(pid)) << "worker " << pid << " survived";
  EXPECT_EQ(client_->call("echo", "x").output, "x");
}

TEST_F(FaultToleranceTest, SecondSigtermKillsRunningTasksWhichEndWorkerDied) {
  Start(1);
  auto running = client_->submit("sleep", "10000");
  auto queued = client_->submit("echo", "never");
  ASSERT_GT(WaitForBusyWorker(*client_), 0);
  kill(daemon_->pid(), SIGTERM);
  // Two SIGTERMs sent before the daemon handles the first would be one.
  ASSERT_TRUE(daemon_->WaitForLog("no longer accepting"));
  kill(daemon_->pid(), SIGTERM);
  EXPECT_EQ(queued.get().code, ErrorCode::kCancelled);
  EXPECT_EQ(running.get().code, ErrorCode::kWorkerDied);
  const int status = daemon_->StopWith(0, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(FaultToleranceTest, DrainTimeoutCancelsWhatIsLeft) {
  Start(1, {"--shutdown-timeout-ms", "200"});
  auto running = client_->submit("sleep", "10000");
  ASSERT_GT(WaitForBusyWorker(*client_), 0);
  kill(daemon_->pid(), SIGTERM);
  EXPECT_EQ(running.get().code, ErrorCode::kWorkerDied);
  const int status = daemon_->StopWith(0, std::chrono::seconds(5));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(FaultToleranceTest, SupervisorKilledFailsClientsWithinASecond) {
  Start(2);
  const std::vector<pid_t> workers = ChildrenOf(daemon_->pid());
  auto pending = client_->submit("sleep", "10000");
  ASSERT_TRUE(client_->ping().ok());
  const auto killed_at = std::chrono::steady_clock::now();
  daemon_->StopWith(SIGKILL);
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_EQ(pending.get().code, ErrorCode::kConnectionLost);
  for (pid_t worker : workers) {
    while (ProcessIsAlive(worker) &&
           std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(1)) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    EXPECT_FALSE(ProcessIsAlive(worker)) << "worker " << worker << " alive 1 s after the supervisor";
  }
}

TEST_F(FaultToleranceTest, IdleConnectionIsClosedWithAReason) {
  Start(1, {"--idle-timeout-ms", "200"});
  RawConnection raw(daemon_->socket_path());
  ASSERT_TRUE(raw.Greet());
  auto reply = raw.Receive(3000);
  ASSERT_TRUE(reply.has_value() && reply->has_error());
  EXPECT_EQ(reply->error().code(), v1::IDLE_TIMEOUT);
  EXPECT_TRUE(raw.ClosedByDaemon());
  // The library's connection was idle too and got the same treatment.
  EXPECT_EQ(client_->call("echo", "x").code, ErrorCode::kConnectionLost);
  // A connection waiting for a long task is not idle.
  TaskResult result = Connect()->call("sleep", "500");
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(FaultToleranceTest, StalledHalfFrameDoesNotBlockOthers) {
  Start(1);
  RawConnection stalled(daemon_->socket_path());
  ASSERT_TRUE(stalled.Greet());
  stalled.SendBytes("\x20\x12\x05");  // a 32-byte frame that never completes
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client_->call("echo", std::to_string(i)).output, std::to_string(i));
  }
}

}  // namespace
}  // namespace taskpool::testing

namespace taskpool::testing {
namespace {

class FaultToleranceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("ASAN_OPTIONS", "handle_segv=0:allocator_may_return_null=1:detect_leaks=0", 1);
    daemon_ = std::make_unique<DaemonProcess>(1, std::vector<std::string>{"--enable-test-tasks"});
  }
  CommandResult Cli(const std::vector<std::string>& args) {
    return RunCli(daemon_->socket_path(), args);
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(FaultToleranceCliTest, JsonNamesEachOutcomeCode) {
  struct Case {
    std::vector<std::string> args;
    const char* code;
  };
  for (const Case& c : std::vector<Case>{
           {{"--json", "call", "--timeout", "0.2", "sleep", "5000"}, "TIMEOUT"},
           {{"--json", "call", "crash", "segv"}, "WORKER_DIED"},
           {{"--json", "call", "--retries", "1", "crash", "abort"}, "WORKER_DIED"},
           {{"--json", "map", "--timeout", "0.2", "sleep", "5000", "1"}, "TIMEOUT"}}) {
    CommandResult result = Cli(c.args);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    // A TaskRecord: the task's v1.Result is under "result".
    const auto first = nlohmann::json::parse(result.out.substr(0, result.out.find('\n')));
    EXPECT_EQ(first.at("result").at("code"), c.code) << result.out;
    EXPECT_FALSE(first.at("result").at("error").get<std::string>().empty());
  }
  CommandResult retried = Cli({"--json", "call", "--retries", "1", "crash", "abort"});
  EXPECT_EQ(nlohmann::json::parse(retried.out).at("result").at("attempts"), 2) << retried.out;
}

TEST_F(FaultToleranceCliTest, DeadlineInWordsAndExpired) {
  // One worker, busy: the second task waits past its deadline.
  auto blocker = std::async(std::launch::async, [&] { return Cli({"call", "sleep", "600"}); });
  const std::unique_ptr<Client> watcher = ConnectTo(daemon_->socket_path());
  ASSERT_NE(watcher, nullptr);
  ASSERT_GT(WaitForBusyWorker(*watcher), 0);
  CommandResult late = Cli({"map", "--deadline", "0.1", "echo", "x"});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_NE(late.out.find("EXPIRED"), std::string::npos) << late.out;
  EXPECT_NE(late.out.find("never ran"), std::string::npos) << late.out;
  EXPECT_EQ(blocker.get().exit_code, 0);
}

TEST_F(FaultToleranceCliTest, CtrlCDuringMapCancelsTheRestAndExits130) {
  std::vector<std::string> args = {CliBinary(), "--socket", daemon_->socket_path(), "map",
                                   "sleep"};
  for (int i = 0; i < 20; ++i) args.push_back("200");
  const pid_t cli = SpawnCommand(args);
  // Busy once the CLI has submitted, which it does after setting its
  // SIGINT handler.
  const std::unique_ptr<Client> watcher = ConnectTo(daemon_->socket_path());
  ASSERT_NE(watcher, nullptr);
  ASSERT_GT(WaitForBusyWorker(*watcher), 0);
  const auto interrupted_at = std::chrono::steady_clock::now();
  kill(cli, SIGINT);
  int status = 0;
  waitpid(cli, &status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted_at, std::chrono::seconds(2));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);

  // Its queued tasks were cancelled: the single worker is free at once
  // instead of sleeping through the other 17 or so.
  ClientOptions options;
  options.socket_path = daemon_->socket_path();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok());
  TaskResult next = (*client)->call_for("echo", "free", std::chrono::milliseconds(1000));
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  auto pool = (*client)->status();
  ASSERT_TRUE(pool.ok());
  EXPECT_LT(pool->tasks_succeeded, 10u);
}

}  // namespace
}  // namespace taskpool::testing
