// taskpool top: full screen inside a pseudo-terminal (as a person runs it),
// plain snapshots through a pipe, and an unreachable daemon.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

extern char** environ;

namespace taskpool::testing {
namespace {

using std::chrono::milliseconds;

// `taskpool ARGS` running on the slave side of a pty.
class TopInTerminal {
 public:
  explicit TopInTerminal(const std::vector<std::string>& args) {
    std::vector<std::string> argv_strings = {CliBinary()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings = {"TERM=xterm"};
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::string(*entry).rfind("TERM=", 0) != 0) env_strings.push_back(*entry);
    }
    // Built before the fork: the child only execs.
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
    winsize size{};
    size.ws_row = 40;
    size.ws_col = 160;
    int master = -1;
    pid_ = forkpty(&master, nullptr, nullptr, &size);
    if (pid_ == 0) {
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    master_.reset(master);
  }

  ~TopInTerminal() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }
  const std::string& screen() const { return output_; }

  // Reads what top draws until `needle` shows up, or it exits, or
  // `timeout` passes; true if the needle was seen.
  bool ReadUntil(const std::string& needle, milliseconds timeout = milliseconds(20000)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (output_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fd{master_.get(), POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t got = read(master_.get(), buffer, sizeof buffer);
      if (got <= 0) return output_.find(needle) != std::string::npos;  // EIO: top exited
      output_.append(buffer, static_cast<size_t>(got));
    }
    return true;
  }

  void Type(const std::string& keys) { ASSERT_EQ(write(master_.get(), keys.data(), keys.size()), static_cast<ssize_t>(keys.size())); }

  // Reads the rest of the output, then returns the exit status (-1 if top
  // did not exit within 20 s).
  int Wait() {
    ReadUntil("\x01never\x01");  // drains until EOF (or the timeout)
    for (int i = 0; i < 2000; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      usleep(10'000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  base::UniqueFd master_;  // destroyed after the child is reaped
  std::string output_;
};

// xterm's "leave the alternate screen": the terminal was given back.
constexpr char kTerminalRestored[] = "\x1b[?1049l";

std::vector<int> WorkerPids(const std::string& socket) {
  auto client = ConnectTo(socket);
  std::vector<int> pids;
  if (client == nullptr) return pids;
  Result<PoolStatus> status = client->status();
  if (!status.ok()) return pids;
  for (const WorkerInfo& worker : status->workers) pids.push_back(worker.pid);
  return pids;
}

TEST(TopTest, ShowsEveryWorkerInATerminalAndExitsAfterIterations) {
  DaemonProcess daemon(3);
  const std::vector<int> pids = WorkerPids(daemon.socket_path());
  ASSERT_EQ(pids.size(), 3u);
  TopInTerminal top({"--socket", daemon.socket_path(), "top", "--iterations", "2",
                     "--interval-ms", "200"});
  ASSERT_TRUE(top.started());
  EXPECT_EQ(top.Wait(), 0) << top.screen();
  for (const int pid : pids) {
    EXPECT_NE(top.screen().find(std::to_string(pid)), std::string::npos)
        << "worker pid " << pid << " not on the screen:\n" << top.screen();
  }
  EXPECT_NE(top.screen().find("taskpoold " TASKPOOL_VERSION " (pid " +
                              std::to_string(daemon.pid()) + ")"),
            std::string::npos)
      << top.screen();
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, QuitsOnQ) {
  DaemonProcess daemon(1);
  TopInTerminal top({"--socket", daemon.socket_path(), "top", "--interval-ms", "100"});
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil("q: quit")) << top.screen();
  top.Type("q");
  EXPECT_EQ(top.Wait(), 0) << top.screen();
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, SaysWhenTheDaemonIsNotReachableAndKeepsTrying) {
  DaemonProcess daemon(1);
  const std::string socket = daemon.socket_path();
  TopInTerminal top({"--socket", socket, "top", "--interval-ms", "100"});
  ASSERT_TRUE(top.started());
  ASSERT_TRUE(top.ReadUntil("q: quit")) << top.screen();
  ASSERT_EQ(daemon.StopWith(SIGTERM), 0);
  EXPECT_TRUE(top.ReadUntil("daemon not reachable: ")) << top.screen();
  top.Type("\x03");  // Ctrl-C
  EXPECT_EQ(top.Wait(), 1) << "the last refresh failed";
  EXPECT_NE(top.screen().find(kTerminalRestored), std::string::npos) << top.screen();
}

TEST(TopTest, PrintsPlainSnapshotsWhenNotATerminal) {
  DaemonProcess daemon(2);
  const std::vector<int> pids = WorkerPids(daemon.socket_path());
  const CommandResult result =
      RunCli(daemon.socket_path(), {"top", "--iterations", "2", "--interval-ms", "100"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.find('\x1b'), std::string::npos) << "no escape sequences in a pipe";
  for (const int pid : pids) {
    const std::string needle = " " + std::to_string(pid) + " ";
    const size_t first = result.out.find(needle);
    ASSERT_NE(first, std::string::npos) << result.out;
    EXPECT_NE(result.out.find(needle, first + 1), std::string::npos) << "two snapshots";
  }
}

TEST(TopTest, PlainModeReportsAnUnreachableDaemonAndFails) {
  const CommandResult result =
      RunCli("/nonexistent/taskpoold.sock", {"top", "--iterations", "1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("top: daemon not reachable: "), std::string::npos) << result.err;
}

TEST(TopTest, RejectsABadInterval) {
  const CommandResult result = RunCli("", {"top", "--interval-ms", "5"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--interval-ms must be between 100 and 3600000"), std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace taskpool::testing
