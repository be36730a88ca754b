// taskpoold under systemd: sd_notify messages seen through a fake
// NOTIFY_SOCKET, and socket activation through systemd-socket-activate.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

constexpr char kSocketActivate[] = "/usr/bin/systemd-socket-activate";

// The service manager's end of sd_notify: a datagram socket we bind, each
// datagram split into its NAME=VALUE lines.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    path_ = directory_.File("notify.sock");
    fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof address.sun_path - 1);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  const std::string& path() const { return path_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // Reads lines until one equals `wanted` or `timeout` passes; returns
  // whether it came. Every line read is kept in lines().
  bool WaitFor(const std::string& wanted, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (std::find(lines_.begin(), lines_.end(), wanted) != lines_.end()) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd ready{fd_.get(), POLLIN, 0};
      if (poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t length = recv(fd_.get(), buffer, sizeof buffer, 0);
      if (length <= 0) continue;
      std::istringstream datagram(std::string(buffer, static_cast<size_t>(length)));
      for (std::string line; std::getline(datagram, line);) lines_.push_back(line);
    }
  }
  const std::vector<std::string>& lines() const { return lines_; }

  // Index of the first line starting with `prefix`, or -1.
  int IndexOf(const std::string& prefix, int from = 0) const {
    for (size_t i = static_cast<size_t>(from); i < lines_.size(); ++i) {
      if (lines_[i].starts_with(prefix)) return static_cast<int>(i);
    }
    return -1;
  }
  int Count(const std::string& line) const {
    return static_cast<int>(std::count(lines_.begin(), lines_.end(), line));
  }

 private:
  TempDirectory directory_{"taskpool-notify"};
  std::string path_;
  base::UniqueFd fd_;
  std::vector<std::string> lines_;
};

std::string Dump(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += "  " + line + "\n";
  return out;
}

TEST(SystemdTest, NotifiesReadyThenStatusThenStopping) {
  FakeNotifySocket notify;
  DaemonProcess daemon(3, {}, {notify.env()});
  ASSERT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << Dump(notify.lines());
  // READY=1 promises every worker is up: none may still be starting.
  const CommandResult status = RunCli(daemon.socket_path(), {"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.find("starting"), std::string::npos) << status.out;

  ClientOptions options;
  options.socket_path = daemon.socket_path();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->call("echo", "hi").output, "hi");
  // The periodic STATUS= picks up the finished task.
  EXPECT_TRUE(notify.WaitFor("STATUS=3/3 workers, 0 queued, 0 running, 1 done, 1 clients",
                             std::chrono::seconds(5)))
      << Dump(notify.lines());
  client->reset();

  const int wait_status = daemon.StopWith(SIGTERM);
  ASSERT_TRUE(WIFEXITED(wait_status)) << daemon.log();
  EXPECT_EQ(WEXITSTATUS(wait_status), 0);
  ASSERT_TRUE(notify.WaitFor("STOPPING=1", std::chrono::seconds(2))) << Dump(notify.lines());

  const int ready = notify.IndexOf("READY=1");
  const int first_status = notify.IndexOf("STATUS=");
  const int stopping = notify.IndexOf("STOPPING=1");
  EXPECT_EQ(ready, 0) << "nothing may come before READY=1:\n" << Dump(notify.lines());
  EXPECT_GT(first_status, ready);
  EXPECT_NE(notify.lines()[static_cast<size_t>(first_status)].find("3/3 workers"),
            std::string::npos)
      << Dump(notify.lines());
  EXPECT_GT(stopping, first_status);
  EXPECT_EQ(notify.IndexOf("READY=1", ready + 1), -1) << Dump(notify.lines());
  // No WATCHDOG_USEC, no pings.
  EXPECT_EQ(notify.Count("WATCHDOG=1"), 0) << Dump(notify.lines());
}

TEST(SystemdTest, PingsTheWatchdogAtHalfWatchdogUsec) {
  FakeNotifySocket notify;
  // 400 ms: a ping every 200 ms. No WATCHDOG_PID: sd_watchdog_enabled
  // then accepts the setting for whoever reads it.
  DaemonProcess daemon(1, {}, {notify.env(), "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << Dump(notify.lines());
  const auto start = std::chrono::steady_clock::now();
  const int before = notify.Count("WATCHDOG=1");
  // Collect for 1 s: about 5 more pings (at least 2 even on a loaded machine).
  notify.WaitFor("never sent", std::chrono::seconds(1));
  const int pings = notify.Count("WATCHDOG=1") - before;
  EXPECT_GE(pings, 2) << Dump(notify.lines());
  EXPECT_LE(pings, 7) << Dump(notify.lines());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(WEXITSTATUS(daemon.StopWith(SIGTERM)), 0) << daemon.log();
}

TEST(SystemdTest, WatchdogPidOfAnotherProcessMeansNoPings) {
  FakeNotifySocket notify;
  DaemonProcess daemon(1, {}, {notify.env(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"});
  ASSERT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << Dump(notify.lines());
  notify.WaitFor("never sent", std::chrono::milliseconds(600));
  EXPECT_EQ(notify.Count("WATCHDOG=1"), 0) << Dump(notify.lines());
}

TEST(SystemdTest, ServesTheSocketPassedBySocketActivation) {
  ASSERT_TRUE(std::filesystem::exists(kSocketActivate))
      << kSocketActivate << " is missing: install the `systemd` package "
      << "(scripts/install-deps.sh does) to run the socket activation test";
  FakeNotifySocket notify;
  // systemd-socket-activate binds the socket, waits for the fixture's first
  // connection, then execs taskpoold with LISTEN_FDS=1 and a clean
  // environment (hence -E for the notify socket).
  DaemonProcess daemon(2, {}, {},
                       {kSocketActivate, "-l", "@SOCKET@", "-E", notify.env()});
  ASSERT_TRUE(notify.WaitFor("READY=1", std::chrono::seconds(10))) << Dump(notify.lines());

  ClientOptions options;
  options.socket_path = daemon.socket_path();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  TaskResult result = (*client)->call("is_prime", "454577");
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.output, "true");
  client->reset();

  const int wait_status = daemon.StopWith(SIGTERM);
  ASSERT_TRUE(WIFEXITED(wait_status)) << daemon.log();
  EXPECT_EQ(WEXITSTATUS(wait_status), 0) << daemon.log();
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", std::chrono::seconds(2)));
  // The socket file belongs to the activator (systemd): a daemon that bound
  // its own socket would have removed it at exit.
  EXPECT_TRUE(std::filesystem::exists(daemon.socket_path())) << daemon.log();
  EXPECT_EQ(daemon.log().find("removed stale socket"), std::string::npos) << daemon.log();
}

}  // namespace
}  // namespace taskpool::testing
