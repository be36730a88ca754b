// Cancel: before a task runs it ends CANCELLED at once; while it runs it is
// asked to stop (and its own result delivered), or killed on request.
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

using CancellationTest = RouterTest;

TEST_F(CancellationTest, AQueuedTaskEndsCancelledAndLeavesTheQueue) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  Cancel(client, 1);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::CANCELLED);
  EXPECT_EQ(result.error(), "cancelled by the client before it ran");
  EXPECT_EQ(queue_->in_use(), 0u);
  EXPECT_EQ(router().in_flight(), 0u);
}

TEST_F(CancellationTest, AHeldTaskEndsCancelledAndTheLineMovesOn) {
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id, "echo", WithLock("k"));
  Cancel(client, 2);
  EXPECT_EQ(client.ResultFor(2).code(), v1::CANCELLED);
  RunNext(0);
  ASSERT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
}

TEST_F(CancellationTest, ATaskWaitingForRoomEndsCancelled) {
  capacity_ = 1;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  Cancel(client, 2);
  EXPECT_EQ(client.ResultFor(2).code(), v1::CANCELLED);
  EXPECT_EQ(router().waiting(), 0u);
}

TEST_F(CancellationTest, ARunningTaskIsAskedToStopAndItsResultDelivered) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Cancel(client, 1);
  EXPECT_TRUE(queue_->slot(0).cancel_requested);
  EXPECT_FALSE(client.HasResult(1));
  EXPECT_TRUE(killed_.empty());
  queue_->Finish(0, ErrorCode::kOk, "partial");
  router().CollectResults();
  EXPECT_EQ(client.ResultFor(1).output(), "partial");
}

TEST_F(CancellationTest, ACancelledRunningTaskIsNotRetried) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(3));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Cancel(client, 1);
  Die(0);
  EXPECT_EQ(client.ResultFor(1).code(), v1::WORKER_DIED);
  EXPECT_EQ(queue_->queued(), 0u);
}

TEST_F(CancellationTest, CancelWithKillKillsTheWorkerAndEndsCancelled) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(3));
  ASSERT_TRUE(queue_->Claim(4).has_value());
  Cancel(client, 1, /*kill=*/true);
  EXPECT_EQ(killed_, std::vector<uint32_t>{4});
  EXPECT_FALSE(client.HasResult(1));
  Die(4);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::CANCELLED);
  EXPECT_EQ(result.error(),
            "cancelled by the client while running; its worker was killed and replaced");
  EXPECT_EQ(queue_->queued(), 0u);
}

TEST_F(CancellationTest, CancellingWhatIsNotInFlightDoesNothing) {
  FakeClient client(1, 1000);
  FakeClient other(2, 1000);
  Cancel(client, 1);  // a connection that never submitted
  Submit(client, 1);
  RunNext(0);
  Cancel(client, 1);  // finished already
  Submit(client, 2);
  Cancel(other, 2);  // another connection's id
  EXPECT_EQ(client.results().size(), 1u);
  EXPECT_EQ(queue_->queued(), 1u);
}

}  // namespace
}  // namespace taskpool::daemon::testing
