// How tasks end: results with their timings, worker deaths and retries,
// closed connections, and the shutdown paths.
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

using namespace std::chrono_literals;

using SettlementTest = RouterTest;

TEST_F(SettlementTest, AResultCarriesItsTimings) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  clock_.Advance(5ms);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(30ms);
  queue_->Finish(0, ErrorCode::kOk, "done");
  router().CollectResults();
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.queue_us(), 5000u);
  EXPECT_EQ(result.run_us(), 30000u);
}

TEST_F(SettlementTest, AFailureCarriesTheFunctionsMessage) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  RunNext(0, ErrorCode::kInvalidArgument, "expects a number");
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(result.error(), "expects a number");
  EXPECT_TRUE(result.output().empty());
  EXPECT_EQ(router().counters().failed_total(), 1u);
}

TEST_F(SettlementTest, ADeathIsRetriedUpToMaxRetriesThenReported) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(1));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Die(0);
  EXPECT_FALSE(client.HasResult(1));
  ASSERT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(queue_->slot(0).attempt, 2u);

  ASSERT_TRUE(queue_->Claim(1).has_value());
  Die(1, "killed by signal 11");
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::WORKER_DIED);
  EXPECT_EQ(result.error(), "worker 1 (pid 5001) killed by signal 11 while running echo");
  EXPECT_EQ(result.attempts(), 2u);
  EXPECT_EQ(queue_->in_use(), 0u) << "the slot is released";
}

TEST_F(SettlementTest, ARetryThatSucceedsReportsItsAttempts) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(2));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Die(0);
  RunNext(1);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::OK);
  EXPECT_EQ(result.attempts(), 2u);
}

TEST_F(SettlementTest, ARetryIsWatchedAgain) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", [](v1::Submit& submit) {
    WithRetries(1)(submit);
    WithTimeout(100)(submit);
  });
  ASSERT_TRUE(queue_->Claim(0).has_value());
  Die(0);
  ASSERT_TRUE(queue_->Claim(1).has_value());
  clock_.Advance(110ms);
  EXPECT_EQ(killed_, std::vector<uint32_t>{1});
}

TEST_F(SettlementTest, NothingIsRetriedOnceTheDaemonStops) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(3));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  router().StopAccepting();
  Die(0);
  EXPECT_EQ(client.ResultFor(1).code(), v1::WORKER_DIED);
}

TEST_F(SettlementTest, ATaskOfAClosedConnectionIsNotRetriedAndNobodyIsAnswered) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithRetries(3));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  router().ConnectionClosed(client);
  EXPECT_TRUE(queue_->slot(0).cancel_requested) << "nobody wants it: it may stop early";
  EXPECT_EQ(router().in_flight(), 1u) << "running until its worker says otherwise";
  Die(0);
  EXPECT_TRUE(client.results().empty());
  EXPECT_EQ(router().in_flight(), 0u);
  EXPECT_EQ(queue_->queued(), 0u);
  EXPECT_EQ(router().counters().failed_total(), 1u) << "counted, though not sent";
}

TEST_F(SettlementTest, AClosedConnectionsResultIsDropped) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  router().ConnectionClosed(client);
  EXPECT_EQ(queue_->queued(), 0u) << "the queued task was withdrawn";
  queue_->Finish(0, ErrorCode::kOk);
  router().CollectResults();
  EXPECT_TRUE(client.results().empty());
  EXPECT_EQ(router().in_flight(), 0u);
  EXPECT_FALSE(router().HasTasksInFlight(client.id()));
}

TEST_F(SettlementTest, CancelNotRunningEndsWhatIsQueuedOrWaiting) {
  capacity_ = 2;
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id);
  ASSERT_TRUE(queue_->Claim(0).has_value());  // 1 runs, 2 queued, 3 waits
  router().CancelNotRunning("taskpoold is shutting down (SIGTERM)", CancelReason::kShutdown);
  for (uint64_t id : {2, 3}) {
    const v1::Result result = client.ResultFor(id);
    EXPECT_EQ(result.code(), v1::CANCELLED);
    EXPECT_EQ(result.error(), "taskpoold is shutting down (SIGTERM)");
  }
  EXPECT_FALSE(client.HasResult(1));
  EXPECT_EQ(router().in_flight(), 1u);

  router().RequestCancelRunning();
  EXPECT_TRUE(queue_->slot(0).cancel_requested);
}

TEST_F(SettlementTest, RunningTasksNameTheirClients) {
  FakeClient client(1, 1000, 321);
  Submit(client, 11);
  Submit(client, 12);
  ASSERT_TRUE(queue_->Claim(3).has_value());
  const auto running = router().RunningTasks();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running.at(3).id, 11u);
  EXPECT_EQ(running.at(3).client_pid, 321);
}

TEST_F(SettlementTest, ADeathOfAWorkerHoldingNothingChangesNothing) {
  FakeClient client(1, 1000);
  Submit(client, 1);
  Die(2);
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_TRUE(client.results().empty());
}

}  // namespace
}  // namespace taskpool::daemon::testing
