// Nodes SIGKILLed and restarted while a map flows through the cluster:
// every task still ends in exactly one result, run on a live node.
#include <gtest/gtest.h>

#include <signal.h>

#include <future>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.h"

namespace taskpool::testing {
namespace {

TEST(ClusterChaos, KilledAndRestartedNodesLoseNoTaskOfAMap) {
  NatsServer nats;
  std::map<std::string, std::unique_ptr<DaemonProcess>> nodes;
  for (const char* name : {"a", "b", "c"}) {
    nodes[name] = std::make_unique<DaemonProcess>(1, ClusterArgs(nats.url(), name));
  }
  for (const auto& [name, node] : nodes) ASSERT_TRUE(WaitForClusterOf(node->socket_path(), 3));

  auto client = ConnectTo(nodes["a"]->socket_path());
  ASSERT_NE(client, nullptr);
  SubmitOptions options;
  options.max_retries = 3;
  constexpr int kTasks = 30;
  std::vector<std::future<TaskResult>> results;
  for (int i = 0; i < kTasks; ++i) results.push_back(client->submit("sleep", "200", options));

  // Up to three times, while the map lasts: a node is killed while it runs
  // one of a's tasks, and started again under its name (a new
  // incarnation). Fast machines may finish the map before the last kills.
  const auto all_done = [&] {
    for (auto& result : results) {
      if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
    }
    return true;
  };
  int kills = 0;
  for (const char* victim : {"b", "c", "b"}) {
    bool busy = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!busy && !all_done() && std::chrono::steady_clock::now() < until) {
      const v1::StatusReply status = StatusOf(nodes[victim]->socket_path());
      busy = status.running() == 1 && status.cluster().fetched() > 0;
    }
    if (!busy) break;
    ASSERT_EQ(nodes[victim]->StopWith(SIGKILL), SIGKILL);
    ++kills;
    nodes[victim] = std::make_unique<DaemonProcess>(1, ClusterArgs(nats.url(), victim));
    ASSERT_TRUE(WaitForClusterOf(nodes[victim]->socket_path(), 3));
  }
  ASSERT_GE(kills, 1) << "the map ended before any node could be killed";

  std::map<std::string, int> by_node;
  int retried = 0;
  for (auto& result : results) {
    const TaskResult done = result.get();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done.output, "slept 200 ms");
    ++by_node[done.node];
    if (done.attempts > 1) ++retried;
  }
  int total = 0;
  for (const auto& [node, count] : by_node) total += count;
  EXPECT_EQ(total, kTasks);
  EXPECT_GE(retried, 1) << "a killed node's task ran again elsewhere";
  // A killed node held its running task, and at most one fetched behind it.
  EXPECT_LE(retried, 2 * kills) << "only the killed nodes' tasks ran again";
  EXPECT_EQ(StatusOf(nodes["a"]->socket_path()).cluster().remote_in_flight(), 0u);
}

}  // namespace
}  // namespace taskpool::testing
