// The router's front door: what it accepts, what it refuses and why, and
// what an accepted task carries into the queue.
#include "daemon/route/admission.h"

#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"
#include "wire/chunk_wire.h"

namespace taskpool::daemon::testing {
namespace {

using namespace std::chrono_literals;

using AdmissionTest = RouterTest;

TEST_F(AdmissionTest, AKnownFunctionIsQueuedAndItsResultDelivered) {
  FakeClient client(1, 1000);
  Submit(client, 7);
  EXPECT_EQ(queue_->queued(), 1u);
  EXPECT_EQ(router().in_flight(), 1u);
  EXPECT_TRUE(router().HasTasksInFlight(client.id()));

  RunNext(0, ErrorCode::kOk, "hello");
  const v1::Result result = client.ResultFor(7);
  EXPECT_EQ(result.code(), v1::OK);
  EXPECT_EQ(result.output(), "hello");
  EXPECT_EQ(result.attempts(), 1u);
  EXPECT_EQ(result.worker_pid(), FakeQueue::WorkerPid(0));
  EXPECT_EQ(router().in_flight(), 0u);
  EXPECT_FALSE(router().HasTasksInFlight(client.id()));
  EXPECT_EQ(router().counters().submitted, 1u);
  EXPECT_EQ(router().counters().succeeded, 1u);
  EXPECT_EQ(queue_->in_use(), 0u);
}

TEST_F(AdmissionTest, AnUnknownFunctionIsRefusedWithTheKnownNames) {
  FakeClient client(1, 1000);
  Submit(client, 1, "no_such_function");
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::UNKNOWN_FUNCTION);
  EXPECT_NE(result.error().find("echo"), std::string::npos) << result.error();
  EXPECT_EQ(queue_->queued(), 0u);
  EXPECT_EQ(router().counters().failed_total(), 1u);
  EXPECT_FALSE(router().HasTasksInFlight(client.id()));
}

TEST_F(AdmissionTest, AnIdInFlightIsRefusedUntilItsTaskIsAnswered) {
  FakeClient client(1, 1000);
  Submit(client, 5);
  Submit(client, 5);
  EXPECT_EQ(client.ResultFor(5).code(), v1::DUPLICATE_ID);
  EXPECT_EQ(queue_->queued(), 1u) << "the first task stays queued";
  EXPECT_TRUE(router().HasTasksInFlight(client.id()));

  RunNext(0);
  Submit(client, 5);  // free again
  EXPECT_EQ(queue_->queued(), 1u);
  // The same id on another connection was never a duplicate.
  FakeClient other(2, 1000);
  Submit(other, 5);
  EXPECT_EQ(queue_->queued(), 2u);
}

TEST_F(AdmissionTest, AnOversizedPayloadIsRefusedNamingTheLimit) {
  config_.max_payload_bytes = 4;
  FakeClient client(1, 1000);
  Submit(client, 1);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::PAYLOAD_TOO_LARGE);
  EXPECT_NE(result.error().find("--max-payload-bytes"), std::string::npos) << result.error();
}

TEST_F(AdmissionTest, AMalformedChunkIsRefused) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", [](v1::Submit& submit) {
    submit.set_chunk(true);
    submit.set_payload("\xff\xff");
  });
  EXPECT_EQ(client.ResultFor(1).code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(queue_->queued(), 0u);
}

TEST_F(AdmissionTest, NothingIsAcceptedOnceStopped) {
  FakeClient client(1, 1000);
  router().StopAccepting();
  Submit(client, 1);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::SHUTTING_DOWN);
  EXPECT_EQ(queue_->queued(), 0u);
}

TEST_F(AdmissionTest, AChunkCountsAsItsItems) {
  FakeClient client(1, 1000);
  std::string payload;
  for (const char* item : {"a", "b", "c"}) wire::AppendChunkItem(item, &payload);
  Submit(client, 1, "echo", [&](v1::Submit& submit) {
    submit.set_chunk(true);
    submit.set_payload(payload);
  });
  EXPECT_EQ(router().counters().submitted, 3u);
  EXPECT_TRUE(queue_->slot(0).chunk);

  std::string output;
  wire::AppendItemResult({ErrorCode::kOk, "", "A", 10}, &output);
  wire::AppendItemResult({ErrorCode::kOk, "", "B", 10}, &output);
  wire::AppendItemResult({ErrorCode::kInvalidArgument, "bad", "", 10}, &output);
  RunNext(0, ErrorCode::kOk, output);
  EXPECT_EQ(client.ResultFor(1).output(), output);
  EXPECT_EQ(router().counters().succeeded, 2u);
  EXPECT_EQ(router().counters().failed_total(), 1u);
}

TEST_F(AdmissionTest, TheTaskIsToldItsLimits) {
  FakeClient client(1, 1000);
  Submit(client, 1, "echo", [](v1::Submit& submit) {
    submit.set_timeout_ms(250);
    submit.set_deadline_ms(1000);
  });
  const RunLimits& limits = queue_->slot(0).limits;
  EXPECT_EQ(limits.timeout, 250ms);
  ASSERT_TRUE(limits.deadline.has_value());
  EXPECT_TRUE(*limits.deadline == clock_.WallNow() + 1000ms);
}

TEST_F(AdmissionTest, TheDaemonTimeoutIsTheDefault) {
  config_.task_timeout = 300ms;
  FakeClient client(1, 1000);
  Submit(client, 1);
  EXPECT_EQ(queue_->slot(0).limits.timeout, 300ms);
  EXPECT_FALSE(queue_->slot(0).limits.deadline.has_value()) << "no deadline asked for";
}

TEST_F(AdmissionTest, AFailedEnqueueIsAnsweredAndForgotten) {
  FakeClient client(1, 1000);
  router();
  queue_->FailNextEnqueue(Status(ErrorCode::kInternal, "cannot create blob: No space left"));
  Submit(client, 1);
  const v1::Result result = client.ResultFor(1);
  EXPECT_EQ(result.code(), v1::INTERNAL);
  EXPECT_EQ(result.error(), "cannot create blob: No space left");
  EXPECT_FALSE(router().HasTasksInFlight(client.id()));
}

TEST_F(AdmissionTest, AFailedEnqueueOfAWaitingTaskIsForgottenToo) {
  capacity_ = 1;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);  // waits for room
  queue_->FailNextEnqueue(Status(ErrorCode::kInternal, "cannot create blob"));
  RunNext(0);
  EXPECT_EQ(client.ResultFor(2).code(), v1::INTERNAL);
  EXPECT_FALSE(router().HasTasksInFlight(client.id())) << "a task answered must not stay in flight";
  EXPECT_EQ(router().in_flight(), 0u);
}

TEST(AdmissionGateKeysTest, OnlyTheGatesASubmissionMustPass) {
  TaskRegistry registry;
  ASSERT_TRUE(
      registry.Register("echo", TaskFunction([](std::string_view) { return TaskOutcome::Ok(""); }))
          .ok());
  ASSERT_TRUE(
      registry.Register("sleep", TaskFunction([](std::string_view) { return TaskOutcome::Ok(""); }))
          .ok());
  DaemonConfig config;
  config.function_limits = {{"sleep", 2}};
  ConcurrencyGates gates;
  const Admission admission(registry, config, gates);
  v1::Submit submit;
  EXPECT_TRUE(admission.GateKeys(1000, submit, 0).empty()) << "echo has no limit, no lock";
  EXPECT_EQ(admission.GateKeys(1000, submit, 1), std::vector<std::string>{"function/sleep"});
  submit.set_lock("db");
  EXPECT_EQ(admission.GateKeys(1000, submit, 1),
            (std::vector<std::string>{"lock/db", "function/sleep"}));
  EXPECT_EQ(gates.LimitOf("function/sleep"), 2u);
  EXPECT_FALSE(admission.AtUserShare(1000)) << "no per-user limit configured";

  config.max_in_flight_per_user = 1;
  ConcurrencyGates shared;
  const Admission fair(registry, config, shared);
  EXPECT_EQ(fair.GateKeys(1000, v1::Submit(), 0), std::vector<std::string>{"user/1000"});
  std::optional<ConcurrencyGates::Pass> pass = shared.TryEnter({"user/1000"});
  ASSERT_TRUE(pass.has_value());
  EXPECT_TRUE(fair.AtUserShare(1000));
  EXPECT_FALSE(fair.AtUserShare(2000));
}

}  // namespace
}  // namespace taskpool::daemon::testing
