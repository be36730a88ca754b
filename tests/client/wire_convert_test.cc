// The client's translations of wire messages into the public types.
#include "client/wire_convert.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

#include "wire/worker_state.h"

namespace taskpool::client {
namespace {

TEST(WireConvertTest, WorkerStatesArriveAsThePublicEnumWithTheWiresNames) {
  const google::protobuf::EnumDescriptor* states = v1::WorkerState_descriptor();
  for (int i = 0; i < states->value_count(); ++i) {
    const auto wire_state = static_cast<v1::WorkerState>(states->value(i)->number());
    v1::StatusReply reply;
    wire::SetWorkerState(wire_state, reply.add_workers());
    const PoolStatus status = FromWireStatus(reply);
    ASSERT_EQ(status.workers.size(), 1u);
    EXPECT_EQ(static_cast<int>(status.workers[0].state), wire_state);
    EXPECT_EQ(WorkerStateName(status.workers[0].state), wire::WorkerStateName(wire_state));
  }
  EXPECT_EQ(WorkerStateName(WorkerState::kBusy), "busy");
}

TEST(WireConvertTest, AStateNewerThanTheClientIsUnknown) {
  EXPECT_EQ(FromWireWorkerState(99), WorkerState::kUnknown);
  EXPECT_EQ(FromWireWorkerState(-1), WorkerState::kUnknown);
  EXPECT_EQ(WorkerStateName(WorkerState::kUnknown), "unknown");
}

TEST(WireConvertTest, ResultTimesBecomeChronoTypes) {
  v1::Result wire;
  wire.set_code(v1::TIMEOUT);
  wire.set_queue_us(1500);
  wire.set_run_us(2500);
  wire.set_started_unix_us(1'700'000'000'000'001);
  wire.set_finished_unix_us(1'700'000'000'000'002);
  const TaskResult result = FromWireResult(std::move(wire));
  EXPECT_EQ(result.code, ErrorCode::kTimeout);
  EXPECT_EQ(result.queue_time, std::chrono::microseconds(1500));
  EXPECT_EQ(result.run_time, std::chrono::microseconds(2500));
  EXPECT_EQ(result.started.time_since_epoch(),
            std::chrono::microseconds(1'700'000'000'000'001));
  EXPECT_EQ(result.finished - result.started, std::chrono::microseconds(1));
  // Never ran: the epoch.
  EXPECT_EQ(FromWireResult(v1::Result()).started, std::chrono::system_clock::time_point{});
}

TEST(WireConvertTest, AnUnknownResultCodeIsInternal) {
  v1::Result wire;
  wire.set_code(static_cast<v1::ErrorCode>(77));
  EXPECT_EQ(FromWireResult(std::move(wire)).code, ErrorCode::kInternal);
}

TEST(WireConvertTest, LimitsTooLargeForTheWireAreClamped) {
  SubmitOptions options;
  options.timeout = std::chrono::hours(24 * 365);
  options.deadline = std::chrono::milliseconds(-5);
  v1::Submit submit;
  ToWireSubmit("echo", "x", options, &submit);
  EXPECT_EQ(submit.timeout_ms(), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(submit.deadline_ms(), 0u);
}

}  // namespace
}  // namespace taskpool::client
