// No process of a shell job outlives what owns it (issue 15, item 7):
// `sh -c 'sleep 1003 & sleep 1004'` is started, both sleeps are found by
// pid under the daemon, and after a cancel (with or without kill), a
// client disconnect, a forced stop, the worker's death and the daemon's
// SIGKILL, neither pid is alive.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "taskpool/v1/exec.pb.h"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

constexpr char kJob[] = "sleep 1003 & sleep 1004";

// Empty for a process that is gone or going: ReadFile swallows the read
// error (ESRCH) that /proc gives for an exiting process, which an
// istreambuf_iterator would throw.
std::string CommandLineOf(pid_t pid) {
  std::string text = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) c = c == '\0' ? ' ' : c;
  return text;
}

// The "PPid:" line of /proc/PID/status; 0 if gone.
pid_t ParentOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("PPid:")) return static_cast<pid_t>(std::stoi(line.substr(5)));
  }
  return 0;
}

bool Descends(pid_t pid, pid_t ancestor) {
  for (int depth = 0; pid > 1 && depth < 64; ++depth) {
    pid = ParentOf(pid);
    if (pid == ancestor) return true;
  }
  return false;
}

// The pids of the job's two sleeps under `daemon`, once both run.
std::vector<pid_t> FindJobSleeps(pid_t daemon) {
  std::vector<pid_t> found;
  EXPECT_TRUE(WaitFor([&] {
    found.clear();
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = std::stoi(name);
      const std::string command = CommandLineOf(pid);
      if ((command == "sleep 1003 " || command == "sleep 1004 ") && Descends(pid, daemon) &&
          ProcessIsAlive(pid)) {
        found.push_back(pid);
      }
    }
    return found.size() == 2;
  })) << "the job's two sleeps never both ran";
  return found;
}

void ExpectAllGone(const std::vector<pid_t>& pids, const std::string& after) {
  for (pid_t pid : pids) {
    EXPECT_TRUE(WaitFor([&] { return !ProcessIsAlive(pid); }))
        << "pid " << pid << " (" << CommandLineOf(pid) << ") outlived " << after;
  }
}

std::string JobRequest() {
  v1::ExecRequest request;
  for (const char* word : {"sh", "-c", kJob}) request.add_argv(word);
  return request.SerializeAsString();
}

class JobProcesses : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(1, std::vector<std::string>{"--enable-exec"});
    client_ = ConnectTo(daemon_->socket_path());
    ASSERT_NE(client_, nullptr);
  }

  // Starts the job; returns its task id, and its sleeps in `sleeps`.
  uint64_t StartJob(std::vector<pid_t>* sleeps) {
    const uint64_t id = client_->submit("exec", JobRequest(),
                                        [this](TaskResult result) { result_.set_value(result); });
    *sleeps = FindJobSleeps(daemon_->pid());
    return id;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  // Before client_, so that it outlives the client whose callback sets it.
  std::promise<TaskResult> result_;
  std::unique_ptr<Client> client_;
};

TEST_F(JobProcesses, CancelWithoutKillEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  const uint64_t id = StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  client_->cancel(id, /*kill_running=*/false);
  EXPECT_EQ(result_.get_future().get().code, ErrorCode::kCancelled);
  ExpectAllGone(sleeps, "a cancel without kill");
  EXPECT_TRUE(client_->call("echo", "worker kept").ok());
}

TEST_F(JobProcesses, CancelWithKillEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  const uint64_t id = StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  client_->cancel(id, /*kill_running=*/true);
  EXPECT_NE(result_.get_future().get().code, ErrorCode::kOk);
  ExpectAllGone(sleeps, "a cancel with kill");
}

TEST_F(JobProcesses, ClientDisconnectEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  client_.reset();
  ExpectAllGone(sleeps, "the client's disconnect");
}

TEST_F(JobProcesses, ForcedShutdownEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  ASSERT_EQ(kill(daemon_->pid(), SIGTERM), 0);
  ASSERT_TRUE(daemon_->WaitForLog("no longer accepting"));
  EXPECT_EQ(daemon_->StopWith(SIGTERM), 0) << daemon_->log();  // the second: forced
  ExpectAllGone(sleeps, "a forced shutdown");
}

TEST_F(JobProcesses, WorkerDeathEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  std::vector<pid_t> workers;
  for (pid_t child : ChildrenOf(daemon_->pid())) {
    if (CommandLineOf(child).find("sleep") == std::string::npos) workers.push_back(child);
  }
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);  // as the OOM killer would
  EXPECT_EQ(result_.get_future().get().code, ErrorCode::kWorkerDied);
  ExpectAllGone(sleeps, "the worker's death");
}

TEST_F(JobProcesses, DaemonSigkillEndsTheWholeJob) {
  std::vector<pid_t> sleeps;
  StartJob(&sleeps);
  ASSERT_EQ(sleeps.size(), 2u);
  daemon_->StopWith(SIGKILL);
  ExpectAllGone(sleeps, "the daemon's SIGKILL");
}

}  // namespace
}  // namespace taskpool::testing
