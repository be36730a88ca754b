#include "taskpool/status.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace taskpool {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kOk);
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ToStringNamesCodeAndMessage) {
  Status status(ErrorCode::kWorkerDied, "worker 1234 killed by SIGKILL");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.ToString(), "WORKER_DIED: worker 1234 killed by SIGKILL");
  EXPECT_EQ(Status(ErrorCode::kQueueFull, "").ToString(), "QUEUE_FULL");
}

TEST(StatusTest, EveryCodeHasItsWireName) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kOk), "OK");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kTaskFailed), "TASK_FAILED");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPayloadTooLarge), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kPermissionDenied), "PERMISSION_DENIED");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "INTERNAL");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kWaitTimeout), "WAIT_TIMEOUT");
  // A value outside the enum (e.g. from a newer peer) is not a crash.
  EXPECT_EQ(ErrorCodeName(static_cast<ErrorCode>(77)), "INTERNAL");
}

TEST(StatusTest, ErrnoStatusNamesTheCallAndTheError) {
  Status status = ErrnoStatus("bind /run/x.sock", EACCES);
  EXPECT_EQ(status.code(), ErrorCode::kInternal);
  EXPECT_EQ(status.ToString(), "INTERNAL: bind /run/x.sock: Permission denied");
  EXPECT_EQ(ErrnoStatus("connect", ENOENT, ErrorCode::kDaemonNotRunning).code(),
            ErrorCode::kDaemonNotRunning);
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<std::string> value(std::string("x"));
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "x");
  EXPECT_EQ(value->size(), 1u);
  EXPECT_TRUE(value.status().ok());
  EXPECT_EQ(std::move(value).value(), "x");

  Result<int> error(Status(ErrorCode::kTimeout, "slow"));
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), ErrorCode::kTimeout);
  EXPECT_EQ(error.status().message(), "slow");
}

}  // namespace
}  // namespace taskpool
