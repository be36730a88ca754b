// Timeouts, deadlines and the slow log, on a clock that moves only when the
// test says so.
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

using namespace std::chrono_literals;

using DeadlineTest = RouterTest;

// A timeout is never retried, however many retries the task may have.
std::function<void(v1::Submit&)> WithTimeoutAndRetries(uint32_t ms) {
  return [ms](v1::Submit& submit) {
    WithTimeout(ms)(submit);
    WithRetries(3)(submit);
  };
}

TEST_F(DeadlineTest, AQueuedTaskPastItsDeadlineExpires) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithDeadline(100));
  clock_.Advance(90ms);
  EXPECT_FALSE(client.HasResult(1));
  clock_.Advance(20ms);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::EXPIRED);
  EXPECT_EQ(result.error(),
            "deadline of 100 ms passed while the task was still queued; it never ran");
  EXPECT_EQ(queue_->in_use(), 0u);
  EXPECT_EQ(router().in_flight(), 0u);
  clock_.Advance(1s);
  EXPECT_FALSE(clock_.tick_pending()) << "nothing left to watch";
}

TEST_F(DeadlineTest, ARunningTaskPastItsTimeoutHasItsWorkerKilled) {
  FakeClient client(1, 1000);
  Submit(client, 1, "sleep", WithTimeoutAndRetries(100));
  clock_.Advance(500ms);  // time queued does not count
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(90ms);
  EXPECT_TRUE(killed_.empty());
  clock_.Advance(20ms);
  EXPECT_EQ(killed_, std::vector<uint32_t>{0});
  clock_.Advance(50ms);
  EXPECT_EQ(killed_.size(), 1u) << "killed once";

  Die(0);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::TIMEOUT);
  EXPECT_EQ(result.error(),
            "ran longer than its timeout of 100 ms; its worker was killed and replaced");
  EXPECT_EQ(result.attempts(), 1u);
  EXPECT_EQ(queue_->queued(), 0u) << "not retried";
}

TEST_F(DeadlineTest, TheDaemonsTimeoutAppliesToATaskWithoutOne) {
  config_.task_timeout = 200ms;
  FakeClient client(1, 1000);
  Submit(client, 1);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(210ms);
  EXPECT_EQ(killed_, std::vector<uint32_t>{0});
}

TEST_F(DeadlineTest, ARunningTaskPastItsDeadlineHasItsWorkerKilled) {
  FakeClient client(1, 1000);
  Submit(client, 1, "sleep", WithDeadline(100));
  clock_.Advance(40ms);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(70ms);
  EXPECT_EQ(killed_, std::vector<uint32_t>{0});
  Die(0);
  EXPECT_EQ(client.ResultFor(1).error(),
            "still running at its deadline of 100 ms; its worker was killed and replaced");
}

TEST_F(DeadlineTest, AKilledTaskThatFinishesFirstKeepsTheKillsOutcome) {
  FakeClient client(1, 1000);
  Submit(client, 1, "sleep", WithTimeoutAndRetries(100));
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(110ms);
  ASSERT_EQ(killed_.size(), 1u);
  // A shell job whose process group went first reports the kill itself.
  queue_->Finish(0, ErrorCode::kTaskFailed, "killed by signal 9");
  router().CollectResults();
  EXPECT_EQ(client.ResultFor(1).code(), v1::TIMEOUT);
  Die(0);  // nothing held any more
  EXPECT_EQ(client.results().size(), 1u);
}

TEST_F(DeadlineTest, ATaskWaitingForRoomPastItsDeadlineExpires) {
  capacity_ = 1;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2, "echo", WithDeadline(100));
  clock_.Advance(110ms);
  const v1::Result result = client.ResultFor(2);
  EXPECT_EQ(result.code(), v1::EXPIRED);
  EXPECT_NE(result.error().find("waited to be queued"), std::string::npos) << result.error();
  EXPECT_EQ(router().waiting(), 0u);
  EXPECT_FALSE(client.paused()) << "nothing waits for room any more";
}

TEST_F(DeadlineTest, AHeldTaskPastItsDeadlineExpires) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", WithLock("k"));
  Submit(client, 2, "echo", [](v1::Submit& submit) {
    WithLock("k")(submit);
    WithDeadline(50)(submit);
  });
  clock_.Advance(60ms);
  EXPECT_EQ(client.ResultFor(2).code(), v1::EXPIRED);
  RunNext(0);
  EXPECT_EQ(queue_->queued(), 0u) << "the expired task is not let in later";
}

TEST_F(DeadlineTest, TheSlowLogWritesOneLinePastTheThresholdAndOneAtTheEnd) {
  config_.slowlog = 100ms;
  FakeClient client(1, 1000, 777);
  Submit(client, 9, "sleep");
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(95ms);
  EXPECT_TRUE(slow_lines_.empty());
  clock_.Advance(10ms);
  ASSERT_EQ(slow_lines_.size(), 1u);
  EXPECT_EQ(slow_lines_[0],
            "slowlog: task 9 (sleep, connection 1, client pid 777) still running after 100 ms "
            "on worker 0 (pid 5000; --slowlog-ms 100)");
  clock_.Advance(1s);
  EXPECT_EQ(slow_lines_.size(), 1u) << "logged once per run";
  queue_->Finish(0, ErrorCode::kOk);
  router().CollectResults();
  ASSERT_EQ(slow_lines_.size(), 2u);
  EXPECT_EQ(slow_lines_[1],
            "slowlog: task 9 (sleep, connection 1, client pid 777) ended OK after a run of "
            "1105 ms on worker pid 5000");
}

TEST_F(DeadlineTest, TheSlowLogSaysWhenTheWorkerDied) {
  config_.slowlog = 100ms;
  FakeClient client(1, 1000, 777);
  Submit(client, 9, "sleep");
  ASSERT_TRUE(queue_->Claim(0).has_value());
  clock_.Advance(200ms);
  Die(0, "killed by signal 11");
  ASSERT_EQ(slow_lines_.size(), 2u);
  EXPECT_NE(slow_lines_[1].find("ended (worker killed by signal 11) after a run of 200 ms"),
            std::string::npos)
      << slow_lines_[1];
}

TEST_F(DeadlineTest, AQuickTaskIsNotInTheSlowLog) {
  config_.slowlog = 100ms;
  FakeClient client(1, 1000);
  Submit(client, 1);
  clock_.Advance(20ms);
  RunNext(0);
  clock_.Advance(1s);
  EXPECT_TRUE(slow_lines_.empty());
  EXPECT_FALSE(clock_.tick_pending());
}

}  // namespace
}  // namespace taskpool::daemon::testing
