// Access control: SO_PEERCRED against --allow-users / --allow-groups, and
// --socket-group on the socket file.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

extern char** environ;

namespace taskpool::testing {
namespace {

// Connects as this test process; returns the status Connect gives.
Status ConnectAs(const std::string& socket_path) {
  ClientOptions options;
  options.socket_path = socket_path;
  auto client = Client::Connect(options);
  if (!client.ok()) return client.status();
  TaskResult result = (*client)->call("echo", "hello");
  return result.status();
}

TEST(AccessTest, RefusesAUidThatIsNotAllowed) {
  // DaemonProcess waits for a ping this daemon must refuse: start it by hand.
  const TempDirectory directory("taskpool-access");
  const std::string socket_path = directory.File("taskpoold.sock");
  const std::string log_path = directory.File("taskpoold.log");
  std::vector<std::string> args = {DaemonBinary(), "--socket", socket_path,
                                   "--workers", "1", "--allow-users", "4242"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  Status refused = Status(ErrorCode::kDaemonNotRunning, "");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (refused.code() == ErrorCode::kDaemonNotRunning &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    refused = ConnectAs(socket_path);
  }
  EXPECT_EQ(refused.code(), ErrorCode::kPermissionDenied) << refused.ToString();
  const std::string uid = "uid " + std::to_string(getuid());
  EXPECT_NE(refused.message().find(uid), std::string::npos) << refused.ToString();
  EXPECT_NE(refused.message().find("--allow-users"), std::string::npos) << refused.ToString();

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const std::string log = ReadFile(log_path);
  EXPECT_NE(log.find("refusing connection from pid " + std::to_string(getpid()) + ", " + uid),
            std::string::npos)
      << log;
}

TEST(AccessTest, AllowsAListedUid) {
  DaemonProcess daemon(1, {"--allow-users", "4242," + std::to_string(getuid())});
  const Status status = ConnectAs(daemon.socket_path());
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(AccessTest, AllowsAPeerByItsGroup) {
  DaemonProcess daemon(1, {"--allow-users", "4242", "--allow-groups",
                           "4243," + std::to_string(getgid())});
  const Status status = ConnectAs(daemon.socket_path());
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(AccessTest, AllowsItsOwnUserByDefault) {
  DaemonProcess daemon(1);
  const Status status = ConnectAs(daemon.socket_path());
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(AccessTest, SocketGroupIsAppliedToTheSocketFile) {
  // Root may give the file any group; others only one of their own.
  const gid_t group = getuid() == 0 ? 4243 : getgid();
  DaemonProcess daemon(1, {"--socket-group", std::to_string(group), "--socket-mode", "0660"});
  struct stat info {};
  ASSERT_EQ(stat(daemon.socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_gid, group);
  EXPECT_EQ(info.st_mode & 0777, 0660u);
}

TEST(AccessTest, UnknownUserOrGroupNamesAreConfigErrors) {
  const CommandResult users = RunCommand(
      {DaemonBinary(), "--test-config", "--allow-users", "root,no-such-user-xyz"});
  EXPECT_EQ(users.exit_code, 2);
  EXPECT_NE(users.err.find("no such user 'no-such-user-xyz'"), std::string::npos) << users.err;
  const CommandResult groups =
      RunCommand({DaemonBinary(), "--test-config", "--socket-group", "no-such-group-xyz"});
  EXPECT_EQ(groups.exit_code, 2);
  EXPECT_NE(groups.err.find("--socket-group"), std::string::npos) << groups.err;
  const CommandResult names =
      RunCommand({DaemonBinary(), "--test-config", "--allow-users", "root", "--allow-groups", "root"});
  EXPECT_EQ(names.exit_code, 0) << names.err;
}

}  // namespace
}  // namespace taskpool::testing
