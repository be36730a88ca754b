// Losing a node, losing NATS: every task of a surviving client still ends
// in exactly one result.
#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.h"

namespace taskpool::testing {
namespace {

bool Running(const std::string& socket, uint32_t tasks) {
  return WaitForStatus(socket, std::to_string(tasks) + " running",
                       [tasks](const v1::StatusReply& status) { return status.running() == tasks; });
}

class ThreeNodes : public ThreeNodeCluster {
 protected:
  // Submits three `hold` tasks to node a and waits until every node runs one.
  std::vector<std::future<TaskResult>> HoldOnEveryNode(Client& client, const Release& release,
                                                       uint32_t max_retries) {
    SubmitOptions options;
    options.max_retries = max_retries;
    std::vector<std::future<TaskResult>> results;
    for (int i = 0; i < 3; ++i) results.push_back(client.submit("hold", release.path(), options));
    for (const auto& node : nodes_) {
      if (!Running(node->socket_path(), 1)) return {};
    }
    return results;
  }
};

TEST_F(ThreeNodes, ATaskOfAKilledNodeRunsAgainElsewhereWithRetries) {
  Release release;
  auto client = ConnectTo(nodes_[0]->socket_path());
  ASSERT_NE(client, nullptr);
  auto results = HoldOnEveryNode(*client, release, /*max_retries=*/1);
  ASSERT_EQ(results.size(), 3u);
  // b dies mid-run: its task's message stops being kept in progress and is
  // redelivered after the ack wait, to a node with a free worker.
  ASSERT_EQ(nodes_[1]->StopWith(SIGKILL), SIGKILL);
  release.Now();
  std::map<std::string, int> by_node;
  int retried = 0;
  for (auto& result : results) {
    const TaskResult done = result.get();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_NE(done.node, "b");
    ++by_node[done.node];
    if (done.attempts == 2) ++retried;
  }
  EXPECT_EQ(retried, 1);
  EXPECT_EQ(by_node["a"] + by_node["c"], 3);
  // The agents' counters reach status with their next reports.
  EXPECT_TRUE(WaitForStatus(nodes_[0]->socket_path(), "one redelivery", [&](const v1::StatusReply& a) {
    return a.cluster().redelivered() + StatusOf(nodes_[2]->socket_path()).cluster().redelivered() == 1;
  }));
}

TEST_F(ThreeNodes, ATaskOfAKilledNodeEndsWorkerDiedNamingItWithoutRetries) {
  Release release;
  auto client = ConnectTo(nodes_[0]->socket_path());
  ASSERT_NE(client, nullptr);
  auto results = HoldOnEveryNode(*client, release, /*max_retries=*/0);
  ASSERT_EQ(results.size(), 3u);
  ASSERT_EQ(nodes_[1]->StopWith(SIGKILL), SIGKILL);
  release.Now();
  int died = 0;
  int ok = 0;
  for (auto& result : results) {
    const TaskResult done = result.get();
    if (done.ok()) {
      ++ok;
      EXPECT_NE(done.node, "b");
      continue;
    }
    ASSERT_EQ(done.code, ErrorCode::kWorkerDied) << done.status().ToString();
    EXPECT_EQ(done.node, "b");
    EXPECT_NE(done.error.find("node b was lost"), std::string::npos) << done.error;
    EXPECT_EQ(done.attempts, 1u);
    ++died;
  }
  EXPECT_EQ(died, 1);
  EXPECT_EQ(ok, 2);
  EXPECT_TRUE(WaitForStatus(nodes_[0]->socket_path(), "one lost task", [&](const v1::StatusReply& a) {
    return a.cluster().lost() + StatusOf(nodes_[2]->socket_path()).cluster().lost() == 1;
  }));
}

TEST_F(ThreeNodes, NatsKilledAndRestartedMidRunLosesAndRepeatsNothing) {
  Release release;
  auto client = ConnectTo(nodes_[0]->socket_path());
  ASSERT_NE(client, nullptr);
  // A delivery in flight at the instant of the crash would count as an
  // attempt; one retry covers it.
  auto results = HoldOnEveryNode(*client, release, /*max_retries=*/1);
  ASSERT_EQ(results.size(), 3u);
  // Queued in the stream while NATS goes away: they must survive it.
  SubmitOptions options;
  options.max_retries = 1;
  for (int i = 0; i < 3; ++i) results.push_back(client->submit("hold", release.path(), options));
  ASSERT_TRUE(WaitForStatus(nodes_[0]->socket_path(), "3 tasks in the stream",
                            [](const v1::StatusReply& status) {
                              return status.cluster().published() == 5;
                            }));
  nats_.Kill();
  for (const auto& node : nodes_) {
    ASSERT_TRUE(WaitForStatus(node->socket_path(), "NATS lost", [](const v1::StatusReply& status) {
      return !status.cluster().connected() && !status.cluster().problem().empty();
    }));
  }
  // Local work goes on without NATS.
  auto local = ConnectTo(nodes_[2]->socket_path());
  ASSERT_NE(local, nullptr);
  nats_.Restart();
  for (const auto& node : nodes_) ASSERT_TRUE(WaitForClusterOf(node->socket_path(), 3));
  release.Now();
  // Every node ran one (HoldOnEveryNode saw it), but which node's result
  // comes back is not fixed: a task whose in-progress heartbeats did not
  // reach the restarted server within the ack wait is redelivered and may
  // finish elsewhere first (its first node's result is then a duplicate,
  // dropped). How fast the server comes back decides that, so only the
  // names are checked.
  const std::set<std::string> cluster = {"a", "b", "c"};
  for (auto& result : results) {
    const TaskResult done = result.get();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_TRUE(cluster.contains(done.node)) << done.node;
  }
  EXPECT_EQ(StatusOf(nodes_[0]->socket_path()).cluster().remote_in_flight(), 0u);
  // And the cluster works as before.
  const TaskResult after = client->call("echo", "again");
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST_F(ThreeNodes, TasksOfARestartedOriginAreDroppedNotRun) {
  Release release;
  {
    auto client = ConnectTo(nodes_[0]->socket_path());
    ASSERT_NE(client, nullptr);
    auto results = HoldOnEveryNode(*client, release, 0);
    ASSERT_EQ(results.size(), 3u);
    // Two more wait in the stream when their origin dies.
    client->submit("hold", release.path(), [](TaskResult) {});
    client->submit("hold", release.path(), [](TaskResult) {});
    ASSERT_TRUE(WaitForStatus(nodes_[0]->socket_path(), "published",
                              [](const v1::StatusReply& status) {
                                return status.cluster().published() == 4;
                              }));
    ASSERT_EQ(nodes_[0]->StopWith(SIGKILL), SIGKILL);
  }
  // The same node name, a new incarnation: nobody waits for the old tasks.
  nodes_[0] = std::make_unique<DaemonProcess>(1, ClusterArgs(nats_.url(), "a"));
  for (const auto& node : nodes_) ASSERT_TRUE(WaitForClusterOf(node->socket_path(), 3));
  release.Now();
  uint64_t dropped = 0;
  ASSERT_TRUE(WaitForStatus(nodes_[1]->socket_path(), "old tasks dropped",
                            [&](const v1::StatusReply& status) {
                              dropped = status.cluster().dropped() +
                                        StatusOf(nodes_[2]->socket_path()).cluster().dropped() +
                                        StatusOf(nodes_[0]->socket_path()).cluster().dropped();
                              return dropped == 2;
                            }));
}

}  // namespace
}  // namespace taskpool::testing

namespace taskpool::testing {
namespace {

TEST_F(ThreeNodes, AnOriginCutOffFromNatsForGoodGivesUpOnItsRemoteTasks) {
  Release release;
  auto client = ConnectTo(nodes_[0]->socket_path());
  ASSERT_NE(client, nullptr);
  auto results = HoldOnEveryNode(*client, release, 0);
  ASSERT_EQ(results.size(), 3u);
  nats_.Kill();
  // Thirty heartbeats later (3 s here) the other nodes would drop a's
  // tasks, so a ends them: one result each, WORKER_DIED, nothing hangs.
  int given_up = 0;
  for (size_t i = 1; i < results.size(); ++i) {
    const TaskResult done = results[i].get();
    EXPECT_EQ(done.code, ErrorCode::kWorkerDied) << done.status().ToString();
    EXPECT_NE(done.error.find("lost the cluster"), std::string::npos) << done.error;
    ++given_up;
  }
  EXPECT_EQ(given_up, 2);
  // The task that ran on a itself is unaffected, and local work goes on.
  release.Now();
  const TaskResult local = results[0].get();
  EXPECT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local.node, "a");
  const TaskResult more = client->call("echo", "still here");
  EXPECT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(more.node, "a");
}

}  // namespace
}  // namespace taskpool::testing
