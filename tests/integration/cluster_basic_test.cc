// Nodes sharing one NATS JetStream work queue (taskpoold --cluster): tasks
// beyond the origin's free workers run on the other nodes, and their
// results come home.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <unistd.h>

#include <future>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.h"

namespace taskpool::testing {
namespace {

std::string MapsOf(pid_t pid) { return ReadFile("/proc/" + std::to_string(pid) + "/maps"); }

// The process name (comm) of `pid`.
std::string NameOf(pid_t pid) {
  std::string name = ReadFile("/proc/" + std::to_string(pid) + "/comm");
  if (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

pid_t AgentOf(pid_t daemon) {
  for (pid_t child : ChildrenOf(daemon)) {
    if (NameOf(child) == "taskpoold-clust") return child;  // comm keeps 15 characters
  }
  return -1;
}

bool Running(const std::string& socket, uint32_t tasks) {
  return WaitForStatus(socket, std::to_string(tasks) + " running",
                       [tasks](const v1::StatusReply& status) { return status.running() == tasks; });
}

TEST(ClusterBasic, DaemonWithoutClusterNeitherStartsAnAgentNorLoadsNats) {
  DaemonProcess daemon(1);
  const std::string maps = MapsOf(daemon.pid());
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.find("libnats"), std::string::npos) << maps;
  EXPECT_EQ(AgentOf(daemon.pid()), -1);
  EXPECT_FALSE(StatusOf(daemon.socket_path()).has_cluster());
}

using ThreeNodes = ThreeNodeCluster;

TEST_F(ThreeNodes, HeldTasksSubmittedToOneNodeRunOnAllThree) {
  Release release;
  auto client = ConnectTo(nodes_[0]->socket_path());
  ASSERT_NE(client, nullptr);
  std::vector<std::future<TaskResult>> results;
  for (int i = 0; i < 3; ++i) results.push_back(client->submit("hold", release.path()));
  // One runs on the origin, the other two were published and fetched by
  // the idle nodes: every node runs one at the same time.
  for (const auto& node : nodes_) ASSERT_TRUE(Running(node->socket_path(), 1));
  release.Now();
  std::set<std::string> ran_on;
  for (auto& result : results) {
    const TaskResult done = result.get();
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done.output, "released");
    EXPECT_GT(done.worker_pid, 0);
    EXPECT_EQ(done.attempts, 1u);
    ran_on.insert(done.node);
  }
  EXPECT_EQ(ran_on, (std::set<std::string>{"a", "b", "c"}));

  const v1::StatusReply origin = StatusOf(nodes_[0]->socket_path());
  EXPECT_EQ(origin.cluster().node(), "a");
  EXPECT_EQ(origin.cluster().published(), 2u);
  EXPECT_EQ(origin.cluster().remote_results(), 2u);
  EXPECT_EQ(origin.cluster().remote_in_flight(), 0u);
  EXPECT_EQ(origin.tasks_succeeded(), 3u);
  // The agent's counters reach status with its next report.
  EXPECT_TRUE(WaitForStatus(nodes_[1]->socket_path(), "one task fetched",
                            [](const v1::StatusReply& status) {
                              return status.cluster().fetched() == 1 &&
                                     status.cluster().redelivered() == 0;
                            }));
}

TEST_F(ThreeNodes, OnlyTheAgentMapsLibnats) {
  const pid_t agent = AgentOf(nodes_[0]->pid());
  ASSERT_GT(agent, 0);
  EXPECT_EQ(MapsOf(nodes_[0]->pid()).find("libnats"), std::string::npos)
      << "the supervisor must stay free of libnats (and its threads)";
  EXPECT_NE(MapsOf(agent).find("libnats"), std::string::npos);
}

TEST_F(ThreeNodes, ATaskStaysOnItsOriginWhileAWorkerThereIsFree) {
  auto client = ConnectTo(nodes_[1]->socket_path());
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    const TaskResult result = client->call("echo", "x");
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result.node, "b");
  }
  EXPECT_EQ(StatusOf(nodes_[1]->socket_path()).cluster().published(), 0u);
}

TEST_F(ThreeNodes, StatusListsEveryNode) {
  const v1::StatusReply status = StatusOf(nodes_[2]->socket_path());
  ASSERT_EQ(status.cluster().nodes_size(), 3);
  EXPECT_EQ(status.cluster().queue(), "test");
  EXPECT_TRUE(status.cluster().connected());
  std::set<std::string> names;
  for (const v1::NodeStatus& node : status.cluster().nodes()) {
    names.insert(node.name());
    EXPECT_EQ(node.workers(), 1u);
    EXPECT_EQ(node.self(), node.name() == "c");
    EXPECT_GT(node.functions(), 0u);
  }
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(ThreeNodes, CliStatusTopAndMetricsShowTheNodes) {
  const CommandResult table = RunCli(nodes_[0]->socket_path(), {"status"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("cluster: queue 'test' as node a, connected"), std::string::npos)
      << table.out;
  for (const char* row : {"\na *", "\nb ", "\nc "}) {
    EXPECT_NE(table.out.find(row), std::string::npos) << row << " in " << table.out;
  }
  const CommandResult json = RunCli(nodes_[0]->socket_path(), {"status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json status = nlohmann::json::parse(json.out);
  EXPECT_EQ(status["cluster"]["node"], "a");
  EXPECT_EQ(status["cluster"]["connected"], true);
  EXPECT_EQ(status["cluster"]["nodes"].size(), 3u);
  const CommandResult metrics = RunCli(nodes_[0]->socket_path(), {"metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  EXPECT_NE(metrics.out.find("taskpool_cluster_nodes 3"), std::string::npos) << metrics.out;
  EXPECT_NE(metrics.out.find("taskpool_cluster_connected{node=\"a\"} 1"), std::string::npos);
  EXPECT_NE(metrics.out.find("taskpool_cluster_node_workers{node=\"c\"} 1"), std::string::npos);
  // A result names its node on the command line too.
  const CommandResult call = RunCli(nodes_[1]->socket_path(), {"map", "echo", "x"});
  EXPECT_NE(call.out.find("on b)"), std::string::npos) << call.out;
  const CommandResult record = RunCli(nodes_[1]->socket_path(), {"--json", "map", "echo", "x"});
  ASSERT_EQ(record.exit_code, 0) << record.err;
  EXPECT_EQ(nlohmann::json::parse(record.out)["result"]["node"], "b") << record.out;
}

}  // namespace
}  // namespace taskpool::testing
