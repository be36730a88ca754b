// A 3-server JetStream cluster with streams of 3 replicas: when the server
// leading the task stream dies, the nodes carry on once a new leader is
// elected. (Replica message counts are not looked at: nats-server 2.9.10
// may keep acked messages on a restarted replica, its issue 3368.)
#include <gtest/gtest.h>

#include <nats/nats.h>

#include <future>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.h"

namespace taskpool::testing {
namespace {

// The name of the server leading `stream`, asked through `url`; "" if
// there is none now.
std::string StreamLeader(const std::string& url, const std::string& stream) {
  natsConnection* connection = nullptr;
  if (natsConnection_ConnectTo(&connection, url.c_str()) != NATS_OK) return "";
  std::string leader;
  jsCtx* jetstream = nullptr;
  if (natsConnection_JetStream(&jetstream, connection, nullptr) == NATS_OK) {
    jsStreamInfo* info = nullptr;
    jsErrCode error = jsErrCode(0);
    if (js_GetStreamInfo(&info, jetstream, stream.c_str(), nullptr, &error) == NATS_OK) {
      if (info->Cluster != nullptr && info->Cluster->Leader != nullptr) {
        leader = info->Cluster->Leader;
      }
      jsStreamInfo_Destroy(info);
    }
    jsCtx_Destroy(jetstream);
  }
  natsConnection_Destroy(connection);
  return leader;
}

TEST(ClusterOnJetStreamCluster, WorkGoesOnAfterTheStreamLeaderDies) {
  const std::vector<int> cluster_ports = {FreeLoopbackPort(), FreeLoopbackPort(),
                                          FreeLoopbackPort()};
  std::vector<std::unique_ptr<NatsServer>> servers;
  for (int i = 0; i < 3; ++i) {
    NatsServer::Options options;
    options.name = "s" + std::to_string(i);
    options.cluster_port = cluster_ports[i];
    for (int j = 0; j < 3; ++j) {
      if (j != i) options.route_ports.push_back(cluster_ports[j]);
    }
    servers.push_back(std::make_unique<NatsServer>(options));
  }
  std::string urls;
  for (const auto& server : servers) urls += (urls.empty() ? "" : ",") + server->url();

  std::vector<std::unique_ptr<DaemonProcess>> nodes;
  for (const char* name : {"a", "b", "c"}) {
    nodes.push_back(std::make_unique<DaemonProcess>(
        1, ClusterArgs(urls, name,
                       // No node is lost here, only a server: an ack wait
                       // and heartbeats a loaded machine cannot outrun (a
                       // fetched task acked late is redelivered, and then
                       // counted lost; a node that seems silent is given no
                       // tasks, so the others run more than one each).
                       {"--cluster-replicas", "3", "--cluster-ack-wait-ms", "10000",
                        "--cluster-heartbeat-ms", "1000"})));
  }
  for (const auto& node : nodes) ASSERT_TRUE(WaitForClusterOf(node->socket_path(), 3));
  // Until both streams have a leader, publishing fails and a node runs
  // what it is given itself (as it should): wait for the election, at the
  // start as after the leader's death below (once killed, that server is
  // neither asked nor counted).
  std::string dead_leader;
  const auto elected = [&](const std::string& stream) {
    for (const auto& server : servers) {
      if (server->name() == dead_leader) continue;
      const std::string now = StreamLeader(server->url(), stream);
      if (!now.empty() && now != dead_leader) return true;
    }
    return false;
  };
  const auto leaders_elected = [&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(elected("test_tasks") && elected("test_results"))) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  };
  ASSERT_TRUE(leaders_elected()) << "no stream leaders after 60 s";

  auto client = ConnectTo(nodes[0]->socket_path());
  ASSERT_NE(client, nullptr);
  const auto map_across_nodes = [&] {
    Release release;
    std::vector<std::future<TaskResult>> results;
    for (int i = 0; i < 3; ++i) results.push_back(client->submit("hold", release.path()));
    for (const auto& node : nodes) {
      EXPECT_TRUE(WaitForStatus(node->socket_path(), "a task running",
                                [](const v1::StatusReply& status) { return status.running() == 1; },
                                std::chrono::seconds(60)));
    }
    release.Now();
    std::set<std::string> ran_on;
    for (auto& result : results) {
      const TaskResult done = result.get();
      EXPECT_TRUE(done.ok()) << done.status().ToString();
      ran_on.insert(done.node);
    }
    EXPECT_EQ(ran_on.size(), 3u);
  };
  map_across_nodes();

  for (const auto& server : servers) {
    dead_leader = StreamLeader(server->url(), "test_tasks");
    if (!dead_leader.empty()) break;
  }
  ASSERT_FALSE(dead_leader.empty());
  for (auto& server : servers) {
    if (server->name() == dead_leader) server->Kill();
  }
  // A new leader is elected among the two left (which can take longer than
  // the reconnects on a loaded machine); nodes connected to the dead server
  // reconnect to another.
  ASSERT_TRUE(leaders_elected()) << "no new stream leaders after 60 s";
  for (const auto& node : nodes) {
    ASSERT_TRUE(WaitForStatus(node->socket_path(), "reconnected with 3 nodes",
                              [](const v1::StatusReply& status) {
                                return status.cluster().connected() &&
                                       status.cluster().nodes_size() == 3;
                              },
                              std::chrono::seconds(60)));
  }
  map_across_nodes();
}

}  // namespace
}  // namespace taskpool::testing
