// Counts add up (issue 14, item 8): at every moment, submitted = succeeded
// + failed + cancelled + in flight, per function and in total, and each
// cancellation is counted for its reason, also those that send no result
// (a closed connection's queued and waiting tasks).
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

class CountsTest : public RouterTest {
 protected:
  // In flight is derived (submitted less every end), so the identity holds
  // by construction; what can fail is checked: in flight against the
  // test's own count and the router's, no end counted above what was
  // submitted, and the functions summing to the totals. Returns the totals.
  v1::StatusReply ExpectCountsAddUp(uint64_t in_flight) {
    v1::StatusReply status;
    router().stats().FillTotals(&status);
    router().function_stats().Fill(registry_, status.mutable_functions());
    EXPECT_LE(status.tasks_succeeded() + status.tasks_failed() + status.tasks_cancelled(),
              status.tasks_submitted())
        << status.DebugString();
    EXPECT_EQ(status.tasks_in_flight(), in_flight) << status.DebugString();
    EXPECT_EQ(router().in_flight(), in_flight);
    uint64_t by_reason = 0;
    for (const v1::CancelCount& count : status.tasks_cancelled_by_reason()) {
      by_reason += count.count();
    }
    EXPECT_EQ(by_reason, status.tasks_cancelled());
    uint64_t submitted_sum = 0;
    uint64_t in_flight_sum = 0;
    for (const v1::FunctionStatus& function : status.functions()) {
      submitted_sum += function.submitted();
      in_flight_sum += function.in_flight();
      uint64_t failed = 0;
      for (const v1::ErrorCount& count : function.failed()) {
        EXPECT_NE(count.code(), v1::CANCELLED) << "a cancellation is no failure";
        failed += count.count();
      }
      EXPECT_LE(function.succeeded() + failed + function.cancelled(), function.submitted())
          << function.DebugString();
    }
    EXPECT_EQ(submitted_sum, status.tasks_submitted()) << status.DebugString();
    EXPECT_EQ(in_flight_sum, status.tasks_in_flight()) << status.DebugString();
    return status;
  }

  static uint64_t CancelledFor(const v1::StatusReply& status, const std::string& reason) {
    for (const v1::CancelCount& count : status.tasks_cancelled_by_reason()) {
      if (count.reason() == reason) return count.count();
    }
    ADD_FAILURE() << "no reason " << reason << " in " << status.DebugString();
    return 0;
  }
};

TEST_F(CountsTest, EveryEndIsCountedOnceForItsReason) {
  capacity_ = 3;
  FakeClient client(1, 1000);
  FakeClient leaving(2, 1000);
  for (uint64_t id = 1; id <= 4; ++id) Submit(client, id);   // 1-3 queued, 4 waits
  for (uint64_t id = 1; id <= 2; ++id) Submit(leaving, id);  // both wait for room
  ExpectCountsAddUp(6);

  RunNext(0, ErrorCode::kOk);          // client 1 ok; client 4 queued
  RunNext(0, ErrorCode::kTaskFailed);  // client 2 failed; leaving 1 queued
  ExpectCountsAddUp(4);

  Cancel(client, 3);  // queued: cancelled by the client
  ASSERT_TRUE(queue_->Claim(1).has_value());  // client 4 runs; leaving 1, 2 queued
  v1::StatusReply status = ExpectCountsAddUp(3);
  EXPECT_EQ(CancelledFor(status, "client"), 1u);

  router().ConnectionClosed(leaving);  // its tasks go without results
  status = ExpectCountsAddUp(1);
  EXPECT_EQ(CancelledFor(status, "disconnect"), 2u);
  EXPECT_TRUE(leaving.results().empty());

  Submit(client, 5);  // queued, then the shutdown cancels it
  router().CancelNotRunning("shutting down", CancelReason::kShutdown);
  router().RequestCancelRunning();
  queue_->Finish(1, ErrorCode::kCancelled);  // client 4 stopped early when asked
  router().CollectResults();
  status = ExpectCountsAddUp(0);
  EXPECT_EQ(CancelledFor(status, "shutdown"), 2u);
  EXPECT_EQ(status.tasks_submitted(), 7u);
  EXPECT_EQ(status.tasks_succeeded(), 1u);
  EXPECT_EQ(status.tasks_failed(), 1u);
  EXPECT_EQ(status.tasks_cancelled(), 5u);
}

TEST_F(CountsTest, ARunningTaskOfAClosedConnectionCountsWhenItEnds) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  router().ConnectionClosed(client);
  ExpectCountsAddUp(1);
  queue_->Finish(0, ErrorCode::kCancelled);  // it saw Context::cancelled()
  router().CollectResults();
  const v1::StatusReply status = ExpectCountsAddUp(0);
  EXPECT_EQ(CancelledFor(status, "disconnect"), 1u);
}

TEST_F(CountsTest, ACancelWithKillCountsForTheClient) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Cancel(client, 1, /*kill=*/true);
  Die(0);
  EXPECT_EQ(client.ResultFor(1).code(), v1::CANCELLED);
  const v1::StatusReply status = ExpectCountsAddUp(0);
  EXPECT_EQ(CancelledFor(status, "client"), 1u);
}

}  // namespace
}  // namespace taskpool::daemon::testing
