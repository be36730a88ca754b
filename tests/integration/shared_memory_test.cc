// The daemon's shared memory against the machine and other users: a
// /dev/shm too small for the queue is refused at start, a full one turns
// into SHARED_MEMORY_FULL results (never SIGBUS), nothing in /dev/shm can
// be read or named in advance by another user, and what a SIGKILLed daemon
// left is removed by a later start on any socket.
//
// The small /dev/shm is a tmpfs in a private mount namespace around the
// daemon alone (unshare --mount; never a network namespace), which needs
// root: without it these tests are skipped, saying so.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <vector>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

// Runs what follows it with a fresh tmpfs of `size` on /dev/shm, seen by
// nothing else (the fixture's wrapper: it execs the daemon, so the pid is
// the daemon's).
std::vector<std::string> WithDevShmOf(const std::string& size) {
  return {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
          "mount -t tmpfs -o size=" + size + ",mode=1777 tmpfs /dev/shm && exec \"$0\" \"$@\""};
}

// Runs `command` (the daemon binary and its flags) with a /dev/shm of
// `size`, through WithDevShmOf, into *result; a fatal failure if no
// private mount namespace could be made. Call under
// ASSERT_NO_FATAL_FAILURE.
void RunWithDevShmOf(const std::string& size, const std::vector<std::string>& command,
                     CommandResult* result) {
  std::vector<std::string> wrapped = WithDevShmOf(size);
  wrapped.insert(wrapped.end(), command.begin(), command.end());
  *result = RunCommand(wrapped);
  ASSERT_THAT(result->err, ::testing::Not(HasSubstr("unshare:")))
      << "cannot make a private mount namespace: " << result->err;
}

class SharedMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root for a private mount namespace with a small /dev/shm "
                      "(CI runs as root)";
    }
  }
};

TEST_F(SharedMemoryTest, AQueueTooLargeForDevShmRefusesToStartSayingWhatToChange) {
  const TempDirectory directory("taskpool-shm");
  CommandResult result;
  // The default queue reserves 32 MiB.
  ASSERT_NO_FATAL_FAILURE(RunWithDevShmOf(
      "20m", {DaemonBinary(), "--socket", directory.File("s.sock"), "--workers", "1"}, &result));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr("needs 32."));
  EXPECT_THAT(result.err, HasSubstr("MiB free"));
  EXPECT_THAT(result.err, HasSubstr("--queue-capacity"));
  EXPECT_THAT(result.err, HasSubstr("--inline-payload-bytes"));
  EXPECT_FALSE(std::filesystem::exists(directory.File("s.sock")));
}

TEST_F(SharedMemoryTest, TestConfigWarnsOfWhatAStartWouldSayAboutTooSmallADevShm) {
  CommandResult result;
  ASSERT_NO_FATAL_FAILURE(
      RunWithDevShmOf("20m", {DaemonBinary(), "--test-config", "--workers", "1"}, &result));
  // The configuration itself is valid: a warning, exit 0.
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("warning: a start now would fail"));
  EXPECT_THAT(result.err, HasSubstr("needs 32."));
  EXPECT_THAT(result.err, HasSubstr("MiB free"));
  EXPECT_THAT(result.err, HasSubstr("--queue-capacity"));
  EXPECT_THAT(result.out, HasSubstr("configuration OK"));
}

TEST_F(SharedMemoryTest, TheDefaultQueueFitsDockersSixtyFourMiBDevShm) {
  DaemonProcess daemon(1, {}, {}, WithDevShmOf("64m"));
  auto client = ConnectTo(daemon.socket_path(), WithoutPayloadArena());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->call("echo", std::string(200000, 'e')).ok()) << "a blob beside it";
}

// 600 pipelined 60 KB sha256 tasks (blobs: above the 32 KiB inline area)
// while the only worker is held by a sleep, so the queue's 255 other slots
// fill and /dev/shm runs out: each task must end exactly once, in a result
// or SHARED_MEMORY_FULL, and the daemon must live on.
TEST_F(SharedMemoryTest, AFullDevShmFailsTasksWithSharedMemoryFullNeverSigbus) {
  DaemonProcess daemon(1, {"--queue-capacity", "256", "--inline-payload-bytes", "32768"}, {},
                       WithDevShmOf("20m"));
  auto client = ConnectTo(daemon.socket_path(), WithoutPayloadArena());
  ASSERT_NE(client, nullptr);
  std::atomic<int> blocker_results{0};
  const uint64_t blocker =
      client->submit("sleep", "600000", [&](TaskResult) { ++blocker_results; });
  ASSERT_NE(blocker, 0u);
  ASSERT_GT(WaitForBusyWorker(*client), 0) << "the sleep never started";

  constexpr int kTasks = 600;
  const std::string payload(60000, 'p');
  std::vector<std::atomic<int>> results(kTasks);
  std::mutex mutex;
  std::vector<TaskResult> outcomes(kTasks);
  std::atomic<int> full{0}, other{0}, done{0};
  std::thread submitter([&] {
    for (int i = 0; i < kTasks; ++i) {
      client->submit("sha256", payload, [&, i](TaskResult result) {
        if (result.code == ErrorCode::kSharedMemoryFull) {
          ++full;
        } else if (!result.ok()) {
          ++other;
        }
        {
          std::lock_guard lock(mutex);
          outcomes[i] = std::move(result);
        }
        ++results[i];
        ++done;
      });
    }
  });
  // The queue fills while the worker sleeps, and /dev/shm with it.
  const bool full_seen = WaitFor([&] { return full > 0 || other > 0 || done == kTasks; });
  client->cancel(blocker, /*kill_running=*/true);
  submitter.join();
  ASSERT_TRUE(full_seen) << "no result while the worker slept: " << daemon.log();
  EXPECT_GT(full.load(), 0) << "256 x 60 KB should not fit beside a 16 MiB queue in 20 MiB";
  EXPECT_TRUE(WaitFor([&] { return done == kTasks; })) << done << " of " << kTasks;

  int succeeded = 0;
  std::optional<std::string> digest;  // every task hashes the same payload
  std::lock_guard lock(mutex);
  for (int i = 0; i < kTasks; ++i) {
    EXPECT_EQ(results[i].load(), 1) << "task " << i;
    const TaskResult& outcome = outcomes[i];
    if (outcome.ok()) {
      ++succeeded;
      if (!digest) digest = outcome.output;
      EXPECT_EQ(outcome.output.size(), 64u) << i << ": not a sha256 in hex";
      EXPECT_EQ(outcome.output, *digest) << i;
    } else {
      EXPECT_EQ(outcome.code, ErrorCode::kSharedMemoryFull) << i << ": " << outcome.error;
      EXPECT_THAT(outcome.error, HasSubstr("shared memory"));
    }
  }
  EXPECT_GT(succeeded, 0);
  EXPECT_TRUE(client->ping().ok()) << daemon.log();
  const int status = daemon.StopWith(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "wait status " << status << ": " << daemon.log();
}

// Mode bits and name of each file in the daemon's own /dev/shm (seen
// through /proc/PID/root: its private tmpfs holds nothing else).
std::vector<std::pair<std::string, mode_t>> FilesInDevShmOf(pid_t pid) {
  std::vector<std::pair<std::string, mode_t>> files;
  const std::string directory = "/proc/" + std::to_string(pid) + "/root/dev/shm";
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    struct stat st {};
    if (lstat(entry.path().c_str(), &st) == 0) {
      files.emplace_back(entry.path().filename().string(), st.st_mode);
    }
  }
  return files;
}

TEST_F(SharedMemoryTest, NoNameInDevShmIsReadableByOthersOrDerivedFromTheSocket) {
  DaemonProcess daemon(1, {}, {}, WithDevShmOf("64m"));
  auto client = ConnectTo(daemon.socket_path(), WithoutPayloadArena());
  ASSERT_NE(client, nullptr);
  // An input blob that stays: the only worker is busy.
  const uint64_t blocker = client->submit("sleep", "600000", [](TaskResult) {});
  ASSERT_GT(WaitForBusyWorker(*client), 0);
  auto echo = client->submit("echo", std::string(100000, 'b'));
  ASSERT_TRUE(WaitFor([&] { return FilesInDevShmOf(daemon.pid()).size() == 2; }))
      << "expected the mark and one blob";

  const std::string mark = ShmMarkOf(daemon.pid());
  ASSERT_FALSE(mark.empty());
  const std::regex random_names("taskpool-[0-9a-f]{32}(\\.[0-9a-f]{32})?");
  for (const auto& [name, mode] : FilesInDevShmOf(daemon.pid())) {
    EXPECT_TRUE(std::regex_match(name, random_names)) << name;
    EXPECT_TRUE(name.starts_with(mark)) << name << " is not under " << mark;
    EXPECT_TRUE(S_ISREG(mode)) << name;
    EXPECT_EQ(mode & 0777, 0600u) << name << " can be opened by others";
  }
  // The queue itself is mapped from a file without a name.
  const std::string maps = ReadFile("/proc/" + std::to_string(daemon.pid()) + "/maps");
  EXPECT_THAT(maps, HasSubstr("/dev/shm/#"));
  for (size_t at = maps.find("/dev/shm/"); at != std::string::npos;
       at = maps.find("/dev/shm/", at + 1)) {
    const std::string line = maps.substr(at, maps.find('\n', at) - at);
    EXPECT_THAT(line, HasSubstr("(deleted)")) << "mapped by name: " << line;
  }
  client->cancel(blocker, /*kill_running=*/true);
  EXPECT_TRUE(echo.get().ok());
}

// Here on the real /dev/shm, shared with the second daemon.
TEST_F(SharedMemoryTest, WhatASigkilledDaemonLeftIsRemovedByAStartOnAnotherSocket) {
  DaemonProcess first(1);
  const std::string mark = ShmMarkOf(first.pid());
  ASSERT_FALSE(mark.empty());
  auto client = ConnectTo(first.socket_path(), WithoutPayloadArena());
  ASSERT_NE(client, nullptr);
  client->submit("sleep", "600000", [](TaskResult) {});
  client->submit("echo", std::string(100000, 'k'), [](TaskResult) {});
  ASSERT_TRUE(WaitFor([&] { return SharedMemoryExists(mark + "."); })) << "no input blob";
  const std::vector<pid_t> workers = ChildrenOf(first.pid());
  first.StopWith(SIGKILL);
  // Its workers die with it (their parent-death signal); once they are
  // gone nothing of the first daemon can still use what it left.
  ASSERT_TRUE(WaitFor([&] {
    for (pid_t worker : workers) {
      if (ProcessIsAlive(worker)) return false;
    }
    return true;
  }));
  client.reset();

  DaemonProcess second(1);  // up means its start-up sweep is done
  EXPECT_FALSE(SharedMemoryExists(mark)) << mark << "* was left behind";
}

// The queue's file (unnamed, so found among the daemon's descriptors):
// its size and the bytes /dev/shm allocated to it, both 0 if not found.
struct QueueFile {
  uint64_t size = 0;
  uint64_t allocated = 0;
};

QueueFile QueueFileOf(pid_t pid) {
  const std::string directory = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    struct stat st {};
    if (target.starts_with("/dev/shm/#") && stat(entry.path().c_str(), &st) == 0) {
      return {static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_blocks) * 512};
    }
  }
  return {};
}

// Creation reserves the first slots only, so the daemon starts fast
// (slot_reservation.h); the rest must follow on its own, with no task
// asking for it.
TEST(SharedMemoryReservation, TheWholeQueueIsReservedSoonAfterStartWithoutATask) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path(), WithoutPayloadArena());
  ASSERT_NE(client, nullptr);
  QueueFile queue;
  EXPECT_TRUE(WaitFor([&] {
    queue = QueueFileOf(daemon.pid());
    return queue.size != 0 && queue.allocated >= queue.size;
  })) << queue.allocated << " of " << queue.size
      << " bytes reserved (0 of 0: no queue file among the daemon's descriptors)";
}

}  // namespace
}  // namespace taskpool::testing
