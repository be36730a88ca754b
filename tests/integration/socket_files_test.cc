// The daemon's files in a directory other users may write: a path that is
// not a socket is never removed, and the lock file beside the socket is
// never a link or another user's file (issue 15, item 4).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

constexpr char kPrecious[] = "# an operator's config file\nworkers = 4\n";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  ASSERT_EQ(ReadFile(path), text) << "cannot write " << path;
}

// taskpoold on `socket`, expected to refuse to start.
CommandResult StartDaemonOn(const std::string& socket) {
  return RunCommand(
      {DaemonBinary(), "--config", "/dev/null", "--socket", socket, "--workers", "1"});
}

TEST(SocketFiles, RegularFileAtTheSocketPathSurvives) {
  TempDirectory directory;
  const std::string config = directory.File("taskpoold.conf");
  WriteFile(config, kPrecious);
  const CommandResult result = StartDaemonOn(config);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(config + " exists and is not a socket; refusing to remove it"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(ReadFile(config), kPrecious);
  EXPECT_FALSE(std::filesystem::exists(config + ".lock")) << "nothing should be created";
}

TEST(SocketFiles, FifoAtTheSocketPathSurvives) {
  TempDirectory directory;
  const std::string fifo = directory.File("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const CommandResult result = StartDaemonOn(fifo);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(fifo + " exists and is not a socket"), std::string::npos)
      << result.err;
  struct stat st {};
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0) << "the FIFO was removed";
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(SocketFiles, SymlinkedLockFileIsRefusedAndItsTargetUntouched) {
  TempDirectory directory;
  const std::string victim = directory.File("victim");
  WriteFile(victim, kPrecious);
  const std::string socket = directory.File("tp.sock");
  ASSERT_EQ(symlink(victim.c_str(), (socket + ".lock").c_str()), 0);
  const CommandResult result = StartDaemonOn(socket);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(socket + ".lock is a symbolic link"), std::string::npos)
      << result.err;
  EXPECT_EQ(ReadFile(victim), kPrecious) << "the daemon wrote through the link";
}

TEST(SocketFiles, HardLinkedLockFileIsRefusedAndItsOtherNameUntouched) {
  TempDirectory directory;
  const std::string victim = directory.File("victim");
  WriteFile(victim, kPrecious);
  const std::string socket = directory.File("tp.sock");
  ASSERT_EQ(link(victim.c_str(), (socket + ".lock").c_str()), 0);
  const CommandResult result = StartDaemonOn(socket);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("has 2 hard links"), std::string::npos) << result.err;
  EXPECT_EQ(ReadFile(victim), kPrecious);
}

TEST(SocketFiles, LockFileOfAnotherUserIsRefused) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to make a file owned by another uid (nobody, 65534)";
  }
  TempDirectory directory;
  const std::string socket = directory.File("tp.sock");
  const std::string lock = socket + ".lock";
  WriteFile(lock, "4242\n");
  ASSERT_EQ(chown(lock.c_str(), 65534, 65534), 0);
  const CommandResult result = StartDaemonOn(socket);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find(lock + " is owned by uid 65534"), std::string::npos) << result.err;
  EXPECT_EQ(ReadFile(lock), "4242\n") << "the lock file was truncated";
}

TEST(SocketFiles, SocketOfARunningDaemonIsNotRemovedByASecondOne) {
  DaemonProcess daemon(1);
  const std::string lock = daemon.socket_path() + ".lock";
  const std::string owner = ReadFile(lock);
  ASSERT_EQ(owner, std::to_string(daemon.pid()) + "\n");
  const CommandResult second = StartDaemonOn(daemon.socket_path());
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_EQ(ReadFile(lock), owner) << "the refused daemon touched the lock file";
  struct stat st {};
  ASSERT_EQ(lstat(daemon.socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(RunCli(daemon.socket_path(), {"ping"}).exit_code, 0);
}

TEST(SocketFiles, AtExitASocketReplacedByAnotherFileIsLeftAlone) {
  DaemonProcess daemon(1);
  // A user who can write the directory swaps the socket for a file.
  ASSERT_EQ(unlink(daemon.socket_path().c_str()), 0);
  WriteFile(daemon.socket_path(), kPrecious);
  EXPECT_EQ(daemon.StopWith(SIGTERM), 0);
  EXPECT_EQ(ReadFile(daemon.socket_path()), kPrecious);
}

}  // namespace
}  // namespace taskpool::testing
