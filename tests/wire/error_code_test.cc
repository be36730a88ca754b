// The compile-time checks in src/wire/error_code.cc, seen from the running
// descriptor: every code the proto declares converts both ways under its
// own name.
#include "wire/error_code.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

TEST(ErrorCodeTest, EveryWireCodeConvertsBothWaysUnderItsProtoName) {
  const google::protobuf::EnumDescriptor* codes = v1::ErrorCode_descriptor();
  ASSERT_GT(codes->value_count(), 0);
  for (int i = 0; i < codes->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* wire = codes->value(i);
    const ErrorCode code = FromWireCode(wire->number());
    EXPECT_EQ(ErrorCodeName(code), wire->name());
    EXPECT_EQ(static_cast<int>(code), wire->number()) << wire->name();
    EXPECT_EQ(ToWireCode(code), wire->number()) << wire->name();
  }
}

TEST(ErrorCodeTest, AnUnknownWireValueIsInternal) {
  for (int64_t value : {int64_t{19}, int64_t{99}, int64_t{-1},
                        int64_t{std::numeric_limits<int32_t>::min()},
                        std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(FromWireCode(value), ErrorCode::kInternal) << value;
  }
}

TEST(ErrorCodeTest, ClientOnlyCodesNeverTravel) {
  for (ErrorCode code :
       {ErrorCode::kDaemonNotRunning, ErrorCode::kConnectionLost, ErrorCode::kWaitTimeout}) {
    EXPECT_FALSE(v1::ErrorCode_IsValid(static_cast<int>(code))) << ErrorCodeName(code);
    EXPECT_EQ(ToWireCode(code), v1::INTERNAL) << ErrorCodeName(code);
  }
  EXPECT_EQ(ErrorCodeName(ErrorCode::kDaemonNotRunning), "DAEMON_NOT_RUNNING");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kConnectionLost), "CONNECTION_LOST");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kWaitTimeout), "WAIT_TIMEOUT");
}

}  // namespace
}  // namespace taskpool::wire
