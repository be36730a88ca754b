// Backpressure: a connection at its in-flight limit, at its memory budget,
// or with a task waiting for room in a full queue, is not read until that
// changes; and a full queue keeps its waiting line in order.
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

using BackpressureTest = RouterTest;

TEST_F(BackpressureTest, AConnectionAtItsLimitIsPausedUntilAResultGoesOut) {
  config_.max_in_flight_per_connection = 2;
  FakeClient client(1, 1000);
  Submit(client, 1);
  EXPECT_FALSE(client.paused());
  Submit(client, 2);
  EXPECT_TRUE(client.paused());
  RunNext(0);
  EXPECT_FALSE(client.paused());
}

TEST_F(BackpressureTest, AHeldTaskCountsTowardsTheLimit) {
  config_.max_in_flight_per_connection = 2;
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithLock("k"));
  Submit(client, 2, "echo", WithLock("k"));
  EXPECT_TRUE(client.paused());
}

TEST_F(BackpressureTest, AFullQueuePausesTheConnectionAndKeepsTheOrder) {
  capacity_ = 1;
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id);
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(router().waiting(), 2u);
  EXPECT_TRUE(client.paused());

  RunNext(0);
  EXPECT_EQ(queue_->slot(0).input, "payload 2");
  EXPECT_TRUE(client.paused()) << "task 3 still waits for room";
  RunNext(0);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
  EXPECT_FALSE(client.paused());
  RunNext(0);
  EXPECT_EQ(client.results().size(), 3u);
}

TEST_F(BackpressureTest, OnlyTheConnectionsWithTasksWaitingArePaused) {
  capacity_ = 1;
  FakeClient first(1, 1000);
  FakeClient second(2, 1000);
  Submit(first, 1);
  Submit(second, 1);  // waits
  EXPECT_FALSE(first.paused());
  EXPECT_TRUE(second.paused());
  RunNext(0);
  EXPECT_FALSE(second.paused());
}

TEST_F(BackpressureTest, FailIfFullIsAnsweredAtOnce) {
  capacity_ = 1;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2, "echo", [](v1::Submit& submit) { submit.set_fail_if_full(true); });
  const v1::Result result = client.ResultFor(2);
  EXPECT_EQ(result.code(), v1::QUEUE_FULL);
  EXPECT_NE(result.error().find("--queue-capacity"), std::string::npos) << result.error();
  EXPECT_FALSE(client.paused());
  EXPECT_EQ(router().in_flight(), 1u);
}

TEST_F(BackpressureTest, ANewcomerDoesNotOvertakeTheWaitingLine) {
  capacity_ = 2;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  Submit(client, 3);  // waits
  ASSERT_TRUE(queue_->Claim(0).has_value());
  queue_->Finish(0, ErrorCode::kOk);
  // A slot is free in the queue, but not yet collected: a newcomer (read
  // from a batch already in hand) still goes behind task 3.
  Submit(client, 4);
  EXPECT_EQ(router().waiting(), 2u);
  router().CollectResults();
  EXPECT_EQ(router().waiting(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
}

TEST_F(BackpressureTest, AClosedConnectionsWaitingTasksMakeRoomForOthers) {
  capacity_ = 1;
  FakeClient first(1, 1000);
  FakeClient second(2, 1000);
  Submit(first, 1);
  Submit(first, 2);
  Submit(second, 3);
  router().ConnectionClosed(first);
  ASSERT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).input, "payload 3");
  EXPECT_EQ(router().in_flight(), 1u);
}

std::function<void(v1::Submit&)> WithPayloadOf(size_t bytes) {
  return [bytes](v1::Submit& submit) { submit.set_payload(std::string(bytes, 'p')); };
}

TEST_F(BackpressureTest, ATasksSubmissionCountsAgainstTheBudgetUntilItIsAnswered) {
  config_.max_connection_memory_bytes = 10000;
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithPayloadOf(4000));
  EXPECT_FALSE(client.paused());
  EXPECT_GT(router().HeldBytes(1), 4000u);
  Submit(client, 2, "echo", WithPayloadOf(6000));  // queued: in shared memory, still its
  EXPECT_TRUE(client.paused());
  RunNext(0);
  EXPECT_FALSE(client.paused()) << "task 1's submission was released with its result";
  RunNext(0);
  EXPECT_EQ(router().HeldBytes(1), 0u);
}

TEST_F(BackpressureTest, HeldAndWaitingSubmissionsCountToo) {
  config_.max_connection_memory_bytes = 10000;
  capacity_ = 1;
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithLock("k"));
  Submit(client, 2, "echo", [](v1::Submit& submit) {
    submit.set_lock("k");  // held behind task 1
    submit.set_payload(std::string(10000, 'p'));
  });
  EXPECT_TRUE(client.paused());
  router().ConnectionClosed(client);
  EXPECT_EQ(router().HeldBytes(1), 0u) << "a closed connection's waiting tasks hold nothing";
}

TEST_F(BackpressureTest, UnwrittenRepliesPauseTheConnectionUntilTheyDrain) {
  config_.max_connection_memory_bytes = 10000;
  FakeClient client(1, 1000);
  Submit(client, 1);
  client.set_buffered_bytes(10000);  // pongs the client does not read
  router().ConnectionBuffersChanged(client);
  EXPECT_TRUE(client.paused());
  RunNext(0);
  EXPECT_TRUE(client.paused()) << "a task ended, but the replies are still there";
  client.set_buffered_bytes(9000);
  router().ConnectionBuffersChanged(client);
  EXPECT_FALSE(client.paused());
}

TEST_F(BackpressureTest, DrainedRepliesDoNotResumeAConnectionAtItsInFlightLimit) {
  config_.max_in_flight_per_connection = 1;
  FakeClient client(1, 1000);
  Submit(client, 1);
  ASSERT_TRUE(client.paused());
  router().ConnectionBuffersChanged(client);
  EXPECT_TRUE(client.paused());
  RunNext(0);
  EXPECT_FALSE(client.paused());
}

}  // namespace
}  // namespace taskpool::daemon::testing
