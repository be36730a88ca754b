// Lock keys, function limits and the per-user share, as the router applies
// them: who waits, in which order, and who goes ahead.
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

using GatesTest = RouterTest;

TEST_F(GatesTest, TasksWithOneLockKeyRunOneAtATimeInSubmissionOrder) {
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id, "echo", WithLock("db"));
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(router().waiting(), 2u);
  EXPECT_EQ(router().in_flight(), 3u);

  RunNext(0);
  EXPECT_TRUE(client.HasResult(1));
  ASSERT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 2") << "the next in submission order";
  RunNext(0);
  RunNext(0);
  EXPECT_EQ(client.results().size(), 3u);
  EXPECT_EQ(router().in_flight(), 0u);
}

TEST_F(GatesTest, OtherKeysGoAheadOfAHeldTask) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithLock("a"));
  Submit(client, 2, "echo", WithLock("a"));  // held behind 1
  Submit(client, 3, "echo", WithLock("b"));
  Submit(client, 4);  // no gate at all
  EXPECT_EQ(queue_->queued(), 3u);
  EXPECT_EQ(router().waiting(), 1u);
}

TEST_F(GatesTest, ANewcomerWaitsBehindAHeldTaskOfItsKeyEvenIfTheGateIsOpen) {
  config_.function_limits = {{"sleep", 1}};
  FakeClient client(1, 1000);
  Submit(client, 1, "sleep", WithLock("x"));
  Submit(client, 2, "sleep", WithLock("y"));  // held: sleep's limit
  // Lock y is free, but task 2 holds it in line: no overtaking.
  Submit(client, 3, "echo", WithLock("y"));
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(router().waiting(), 2u);

  RunNext(0);  // sleep's limit opens: 2, then 3 behind it
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 2");
  RunNext(0);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
}

TEST_F(GatesTest, AFunctionLimitCapsOnlyThatFunction) {
  config_.function_limits = {{"sleep", 2}};
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id, "sleep");
  Submit(client, 4, "echo");
  EXPECT_EQ(queue_->queued(), 3u) << "two sleeps and the echo";
  EXPECT_EQ(router().waiting(), 1u);

  ASSERT_TRUE(queue_->Claim(0).has_value());  // a sleep runs: still inside its gate
  router().CollectResults();
  EXPECT_EQ(router().waiting(), 1u);
  queue_->Finish(0, ErrorCode::kOk);
  router().CollectResults();
  EXPECT_EQ(router().waiting(), 0u) << "the third sleep is let in";
}

TEST_F(GatesTest, OneUserWaitsBehindItsOwnShareWhileOthersGoAhead) {
  config_.max_in_flight_per_user = 1;
  FakeClient flood(1, 1000);
  FakeClient other(2, 2000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(flood, id);
  Submit(other, 1);
  EXPECT_EQ(queue_->queued(), 2u) << "one of each user";

  v1::StatusReply status;
  router().FillUsers(&status);
  ASSERT_EQ(status.users_size(), 2);
  EXPECT_EQ(status.users(0).uid(), 1000u);
  EXPECT_EQ(status.users(0).name(), "user1000");
  EXPECT_EQ(status.users(0).in_flight(), 1u);
  EXPECT_EQ(status.users(0).held(), 2u);
  EXPECT_EQ(status.users(1).uid(), 2000u);
  EXPECT_EQ(status.users(1).in_flight(), 1u);
  EXPECT_EQ(status.users(1).held(), 0u);
}

TEST_F(GatesTest, StatusLooksUpEachUserNameOncePerMinute) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  v1::StatusReply status;
  router().FillUsers(&status);
  router().FillUsers(&status);
  EXPECT_EQ(name_lookups_, std::vector<uid_t>{1000});
  clock_.Advance(UserNames::kTimeToLive);
  router().FillUsers(&status);
  EXPECT_EQ(name_lookups_, (std::vector<uid_t>{1000, 1000}));
}

TEST_F(GatesTest, AHeldTaskOfAClosedConnectionLeavesTheLine) {
  FakeClient first(1, 1000);
  FakeClient second(2, 1000);
  Submit(first, 1, "echo", WithLock("db"));
  Submit(first, 2, "echo", WithLock("db"));
  Submit(second, 3, "echo", WithLock("db"));
  router().ConnectionClosed(first);  // 1 is withdrawn, 2 leaves the line
  ASSERT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
  EXPECT_EQ(router().waiting(), 0u);
  EXPECT_TRUE(first.results().empty());
}

}  // namespace
}  // namespace taskpool::daemon::testing
