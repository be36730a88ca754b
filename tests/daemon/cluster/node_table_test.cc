#include "daemon/cluster/node_table.h"

#include <gtest/gtest.h>

namespace taskpool::cluster {
namespace {

constexpr std::chrono::milliseconds kMs{1};
// Far from zero, as a steady clock's readings are.
constexpr base::SteadyTime kStart{std::chrono::hours(1000)};

v1::NodeHeartbeat Heartbeat(const std::string& name, uint64_t incarnation,
                            std::vector<std::string> functions, uint32_t interval_ms = 100) {
  v1::NodeHeartbeat heartbeat;
  heartbeat.set_name(name);
  heartbeat.set_incarnation(incarnation);
  heartbeat.set_workers(2);
  heartbeat.set_interval_ms(interval_ms);
  for (const std::string& function : functions) heartbeat.add_functions(function);
  return heartbeat;
}

TEST(NodeTable, ANodeIsLiveForThreeIntervalsAfterItsHeartbeat) {
  NodeTable table("a", 1, 100, kStart);
  table.Update(Heartbeat("b", 7, {"echo"}), kStart);
  EXPECT_TRUE(table.AnyOtherHas("echo", kStart + 300 * kMs));
  EXPECT_FALSE(table.AnyOtherHas("echo", kStart + 600 * kMs));
  EXPECT_EQ(table.live_count(kStart + 600 * kMs), 0u);
}

TEST(NodeTable, AnyOtherHasLooksPastThisNode) {
  NodeTable table("a", 1, 100, kStart);
  table.Update(Heartbeat("a", 1, {"echo", "sha256"}), kStart);
  table.Update(Heartbeat("b", 7, {"echo"}), kStart);
  EXPECT_TRUE(table.AnyOtherHas("echo", kStart));
  EXPECT_FALSE(table.AnyOtherHas("sha256", kStart));
  EXPECT_TRUE(table.AllHave("echo", kStart));
  EXPECT_FALSE(table.AllHave("sha256", kStart));
  EXPECT_FALSE(table.AllHave("nothing", kStart));
}

TEST(NodeTable, ALeavingNodeIsGoneAtOnce) {
  NodeTable table("a", 1, 100, kStart);
  table.Update(Heartbeat("b", 7, {"echo"}), kStart);
  v1::NodeHeartbeat leaving = Heartbeat("b", 7, {"echo"});
  leaving.set_leaving(true);
  table.Update(leaving, kStart + kMs);
  EXPECT_FALSE(table.AnyOtherHas("echo", kStart + kMs));
  // A late "leaving" of an older incarnation does not hide the new one.
  table.Update(Heartbeat("b", 8, {"echo"}), kStart + 2 * kMs);
  table.Update(leaving, kStart + 3 * kMs);
  EXPECT_TRUE(table.AnyOtherHas("echo", kStart + 3 * kMs));
}

TEST(NodeTable, AnOriginIsGoneOnceItRestartedOrFellSilent) {
  NodeTable table("a", 1, 100, kStart);
  table.Update(Heartbeat("b", 7, {}), kStart);
  EXPECT_FALSE(table.OriginGone("b", 7, kStart + kMs));
  EXPECT_TRUE(table.OriginGone("b", 6, kStart + kMs)) << "an earlier incarnation of b";
  const std::chrono::milliseconds silent = NodeTable::GoneAfter(100);
  EXPECT_FALSE(table.OriginGone("b", 7, kStart + silent - kMs)) << "silent, not yet gone";
  EXPECT_TRUE(table.OriginGone("b", 7, kStart + silent + kMs));
  // Never heard from: gone only once this table has listened long enough.
  EXPECT_FALSE(table.OriginGone("c", 3, kStart + kMs));
  EXPECT_TRUE(table.OriginGone("c", 3, kStart + silent + kMs));
}

TEST(NodeTable, GoneMeansThirtyHeartbeatsAndAtLeastThreeSeconds) {
  EXPECT_EQ(NodeTable::GoneAfter(100), std::chrono::milliseconds(3000));
  EXPECT_EQ(NodeTable::GoneAfter(1000), std::chrono::milliseconds(30000));
}

TEST(NodeTable, TasksOfAnEarlierIncarnationOfThisNodeAreGone) {
  NodeTable table("a", 1, 100, kStart);
  EXPECT_FALSE(table.OriginGone("a", 1, kStart));
  EXPECT_TRUE(table.OriginGone("a", 2, kStart));
}

TEST(NodeTable, FillListsLiveNodesByName) {
  NodeTable table("b", 1, 100, kStart);
  table.Update(Heartbeat("c", 3, {"echo"}), kStart);
  table.Update(Heartbeat("b", 1, {"echo", "sleep"}), kStart + 10 * kMs);
  google::protobuf::RepeatedPtrField<taskpool::v1::NodeStatus> nodes;
  table.Fill(&nodes, kStart + 20 * kMs);
  ASSERT_EQ(nodes.size(), 2);
  EXPECT_EQ(nodes[0].name(), "b");
  EXPECT_TRUE(nodes[0].self());
  EXPECT_EQ(nodes[0].functions(), 2u);
  EXPECT_EQ(nodes[0].last_heartbeat_ms(), 10u);
  EXPECT_EQ(nodes[1].name(), "c");
  EXPECT_FALSE(nodes[1].self());
  EXPECT_EQ(nodes[1].workers(), 2u);
}

}  // namespace
}  // namespace taskpool::cluster
