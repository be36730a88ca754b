// Fair share across users (--max-in-flight-per-user): one user flooding the
// pool has its tasks beyond the limit held in the daemon, and another
// user's task goes ahead of them. The second user is a child process that
// switches to uid 65534 (nobody), so this needs root.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

constexpr uid_t kOtherUid = 65534;  // nobody
constexpr int kFlood = 6;

// Forked while the test process has no other thread. Waits for a byte on
// `go`, becomes uid kOtherUid, runs one short task and writes its result's
// start, in microseconds since the epoch (0 on any failure), to `report`.
[[noreturn]] void RunOtherUser(const std::string& socket_path, int go, int report) {
  char byte = 0;
  int64_t started = 0;
  if (read(go, &byte, 1) == 1 && setgroups(0, nullptr) == 0 && setgid(kOtherUid) == 0 &&
      setuid(kOtherUid) == 0) {
    ClientOptions options;
    options.socket_path = socket_path;
    auto client = Client::Connect(options);
    if (client.ok()) {
      const TaskResult result = (*client)->call("sleep", "50");
      if (result.ok()) {
        started = std::chrono::duration_cast<std::chrono::microseconds>(
                      result.started.time_since_epoch())
                      .count();
      }
    }
  }
  (void)!write(report, &started, sizeof started);
  _exit(0);
}

std::optional<UserInfo> FindUser(const PoolStatus& status, uid_t uid) {
  for (const UserInfo& user : status.users) {
    if (user.uid == uid) return user;
  }
  return std::nullopt;
}

// Polls the status until `done` holds for it (or 20 s pass).
template <typename Predicate>
PoolStatus WaitForStatus(Client& client, Predicate done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  PoolStatus last;
  while (std::chrono::steady_clock::now() < until) {
    Result<PoolStatus> status = client.status();
    if (status.ok()) {
      last = *status;
      if (done(last)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return last;
}

TEST(FairShareTest, AnotherUsersTaskGoesAheadOfTheFloodersHeldTasks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as a second user";
  DaemonProcess daemon(2, {"--max-in-flight-per-user", "2", "--socket-mode", "0666",
                           "--allow-users", std::to_string(getuid()) + "," +
                                                std::to_string(kOtherUid)});
  // The second user must reach the socket inside the private directory.
  ASSERT_EQ(chmod(daemon.directory().c_str(), 0755), 0);

  int go_fds[2];
  int report_fds[2];
  ASSERT_EQ(pipe2(go_fds, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(report_fds, O_CLOEXEC), 0);
  base::UniqueFd go_read(go_fds[0]), go(go_fds[1]);
  base::UniqueFd report(report_fds[0]), report_write(report_fds[1]);
  const pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) RunOtherUser(daemon.socket_path(), go_read.get(), report_write.get());
  go_read.reset();
  report_write.reset();

  auto flooder = ConnectTo(daemon.socket_path());
  ASSERT_NE(flooder, nullptr);
  std::vector<std::future<TaskResult>> flood;
  for (int i = 0; i < kFlood; ++i) flood.push_back(flooder->submit("sleep", "1000"));
  const PoolStatus holding = WaitForStatus(*flooder, [](const PoolStatus& status) {
    const auto me = FindUser(status, getuid());
    return me && me->held == kFlood - 2;
  });
  EXPECT_EQ(holding.max_in_flight_per_user, 2u);
  const auto me = FindUser(holding, getuid());
  ASSERT_TRUE(me.has_value());
  EXPECT_EQ(me->in_flight, 2u);
  EXPECT_EQ(me->held, static_cast<uint32_t>(kFlood - 2));
  EXPECT_EQ(me->name, "root");

  ASSERT_EQ(write(go.get(), "x", 1), 1);
  // Which of the flooder's tasks were still held once the other user's
  // task was in: the last `held` ones (a user's tasks keep their order).
  const PoolStatus arrived = WaitForStatus(*flooder, [](const PoolStatus& status) {
    return FindUser(status, kOtherUid).has_value() ||
           FindUser(status, getuid()).value_or(UserInfo{}).held == 0;
  });
  const uint32_t held_then = FindUser(arrived, getuid()).value_or(UserInfo{}).held;
  EXPECT_GE(held_then, 2u) << "the other user's task arrived too late to test anything";

  int64_t other_started = 0;
  ASSERT_EQ(read(report.get(), &other_started, sizeof other_started),
            static_cast<ssize_t>(sizeof other_started));
  int wait_status = 0;
  waitpid(other, &wait_status, 0);
  ASSERT_NE(other_started, 0) << "the other user's task failed; see the daemon log:\n"
                              << daemon.log();

  std::vector<TaskResult> results;
  for (auto& future : flood) results.push_back(future.get());
  for (const TaskResult& result : results) {
    EXPECT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.attempts, 1u);
  }
  // The other user's task entered the queue ahead of every task still
  // held: with two workers claiming at once, at most one of those may
  // record an earlier start.
  int held_started_first = 0;
  for (size_t i = kFlood - held_then; i < results.size(); ++i) {
    const auto started = std::chrono::duration_cast<std::chrono::microseconds>(
        results[i].started.time_since_epoch());
    if (started.count() < other_started) ++held_started_first;
  }
  EXPECT_LE(held_started_first, 1);
  // Nothing is left behind: every task got its one result.
  const PoolStatus after = WaitForStatus(*flooder, [](const PoolStatus& status) {
    return status.users.empty();
  });
  EXPECT_TRUE(after.users.empty());
}

TEST(FairShareTest, NoLimitByDefault) {
  DaemonProcess daemon(1);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::vector<std::future<TaskResult>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(client->submit("sleep", "200"));
  const PoolStatus status = WaitForStatus(*client, [](const PoolStatus& status) {
    return !status.users.empty();
  });
  EXPECT_EQ(status.max_in_flight_per_user, 0u);
  ASSERT_EQ(status.users.size(), 1u);
  EXPECT_EQ(status.users[0].held, 0u);
  EXPECT_EQ(status.users[0].in_flight, 4u);
  for (auto& task : tasks) EXPECT_TRUE(task.get().ok());
}

}  // namespace
}  // namespace taskpool::testing
