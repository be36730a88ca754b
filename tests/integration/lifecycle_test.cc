// The daemon's life: start, serve, stop cleanly, recover from a crash.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

TEST(Lifecycle, SigtermExitsZeroAndRemovesSocketAndSharedMemory) {
  DaemonProcess daemon(2);
  const std::string queue_name = ShmMarkOf(daemon.pid());
  ASSERT_FALSE(queue_name.empty()) << "the daemon holds no instance mark";
  EXPECT_TRUE(SharedMemoryExists(queue_name));

  const int status = daemon.StopWith(SIGTERM, std::chrono::seconds(5));
  ASSERT_NE(status, -1) << "taskpoold did not exit within 5 s";
  ASSERT_TRUE(WIFEXITED(status)) << daemon.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
  EXPECT_FALSE(SharedMemoryExists(queue_name));
}

TEST(Lifecycle, StatusListsLiveWorkersThatAreChildrenOfTheDaemon) {
  DaemonProcess daemon(2);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->workers.size(), 2u);
  const std::vector<pid_t> children = ChildrenOf(daemon.pid());
  for (const WorkerInfo& worker : status->workers) {
    EXPECT_GT(worker.pid, 0);
    EXPECT_NE(std::find(children.begin(), children.end(), worker.pid), children.end())
        << "worker pid " << worker.pid << " is not a child of the daemon";
    EXPECT_TRUE(ProcessIsAlive(worker.pid));
  }
  EXPECT_EQ(status->daemon_pid, daemon.pid());
  EXPECT_EQ(status->queue_capacity, 256u);
}

TEST(Lifecycle, SigtermLetsRunningTasksFinish) {
  DaemonProcess daemon(2);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::vector<std::future<TaskResult>> results;
  for (int i = 0; i < 4; ++i) results.push_back(client->submit("sleep", "300"));
  // Make sure the daemon has read them before it is told to stop.
  ASSERT_TRUE(client->ping().ok());
  kill(daemon.pid(), SIGTERM);
  for (auto& result : results) {
    TaskResult outcome = result.get();
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  }
  const int status = daemon.StopWith(0, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Lifecycle, NewTasksAreRefusedWhileDraining) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  auto running = client->submit("sleep", "2000");  // holds the drain open
  ASSERT_GT(WaitForBusyWorker(*client), 0);
  kill(daemon.pid(), SIGTERM);
  ASSERT_TRUE(daemon.WaitForLog("no longer accepting"));
  TaskResult refused = client->call("echo", "late");
  EXPECT_EQ(refused.code, ErrorCode::kShuttingDown) << refused.error;
  EXPECT_TRUE(running.get().ok());
}

TEST(Lifecycle, SecondDaemonOnTheSameSocketRefuses) {
  DaemonProcess daemon(1);
  CommandResult second = RunCommand(
      {DaemonBinary(), "--socket", daemon.socket_path(), "--workers", "1"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already serving"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find(std::to_string(daemon.pid())), std::string::npos) << second.err;
  // The first one is unharmed.
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->call("echo", "still here").ok());
}

TEST(Lifecycle, WorkersExitWhenTheDaemonIsKilled) {
  DaemonProcess daemon(2);
  const std::vector<pid_t> workers = ChildrenOf(daemon.pid());
  ASSERT_EQ(workers.size(), 2u);
  daemon.StopWith(SIGKILL);
  for (pid_t worker : workers) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (ProcessIsAlive(worker) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(ProcessIsAlive(worker)) << "worker " << worker << " outlived the daemon";
  }
}

TEST(Lifecycle, RestartOnTheSocketOfAKilledDaemonWorks) {
  DaemonProcess first(1);
  const std::string socket = first.socket_path();
  const std::string first_mark = ShmMarkOf(first.pid());
  ASSERT_FALSE(first_mark.empty());
  // `first` keeps its directory until the end of the test.
  first.StopWith(SIGKILL);
  ASSERT_TRUE(std::filesystem::exists(socket));
  CommandResult probe = RunCli(socket, {"ping"});
  EXPECT_EQ(probe.exit_code, 3) << "nobody should answer on a stale socket";

  std::vector<std::string> args = {DaemonBinary(), "--socket", socket, "--workers", "1"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  bool answered = false;
  for (int attempt = 0; attempt < 200 && !answered; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    answered = RunCli(socket, {"ping"}).exit_code == 0;
  }
  EXPECT_TRUE(answered) << "restarted daemon did not answer";
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_FALSE(SharedMemoryExists(first_mark)) << "the restart did not sweep";
}

}  // namespace
}  // namespace taskpool::testing
