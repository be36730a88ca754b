// The connection breaking: nothing waits forever, everything later fails
// at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::FakeDaemon;
using ::testing::HasSubstr;

using testing::kPrompt;

class FailureTest : public testing::FakeDaemonTest {
 protected:
  void ExpectLaterCallsFailAtOnce() {
    EXPECT_FALSE(client_->connected());
    EXPECT_EQ(client_->call("echo", "x").code, ErrorCode::kConnectionLost);
    EXPECT_EQ(client_->status().status().code(), ErrorCode::kConnectionLost);
    EXPECT_EQ(client_->ping().code(), ErrorCode::kConnectionLost);
    const std::vector<TaskResult> mapped = client_->map("echo", {"a", "b"}, 2);
    ASSERT_EQ(mapped.size(), 2u);
    EXPECT_EQ(mapped[1].code, ErrorCode::kConnectionLost);
  }
};

TEST_F(FailureTest, DaemonGoneFailsPendingTasks) {
  std::vector<std::future<TaskResult>> pending;
  for (int i = 0; i < 5; ++i) pending.push_back(client_->submit("never", ""));
  std::promise<TaskResult> callback_result;
  client_->submit("never", "", [&](TaskResult result) {
    callback_result.set_value(std::move(result));
  });
  ResultStream stream = client_->imap("never", {"a", "b", "c"});
  // Streams submit lazily; this one submits its window, then times out.
  ASSERT_EQ(stream.next_for(std::chrono::milliseconds(1))->result.code,
            ErrorCode::kWaitTimeout);
  EXPECT_TRUE(client_->ping().ok());  // everything above has arrived

  daemon_.CloseConnections();

  for (auto& future : pending) {
    ASSERT_EQ(future.wait_for(kPrompt), std::future_status::ready);
    const TaskResult result = future.get();
    EXPECT_EQ(result.code, ErrorCode::kConnectionLost);
    EXPECT_THAT(result.error, HasSubstr("closed the connection"));
  }
  auto from_callback = callback_result.get_future();
  ASSERT_EQ(from_callback.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(from_callback.get().code, ErrorCode::kConnectionLost);
  std::optional<ResultStream::Item> item = stream.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->result.code, ErrorCode::kConnectionLost);

  ExpectLaterCallsFailAtOnce();
}

TEST_F(FailureTest, DaemonClosesDuringCall) {
  EXPECT_EQ(client_->call("crash", "").code, ErrorCode::kConnectionLost);
  ExpectLaterCallsFailAtOnce();
}

TEST_F(FailureTest, DaemonErrorMessageIsPassedOn) {
  const TaskResult result = client_->call("error", "");
  EXPECT_EQ(result.code, ErrorCode::kConnectionLost);
  EXPECT_THAT(result.error, HasSubstr("PROTOCOL_VIOLATION: fake error"));
  ExpectLaterCallsFailAtOnce();
}

TEST_F(FailureTest, ClosingTheClientCancelsPendingTasks) {
  std::future<TaskResult> pending = client_->submit("never", "");
  std::promise<TaskResult> callback_result;
  client_->submit("never", "", [&](TaskResult result) {
    callback_result.set_value(std::move(result));
  });
  ResultStream stream = client_->imap("never", {"a"});
  ASSERT_TRUE(stream.next_for(std::chrono::milliseconds(1)).has_value());

  client_.reset();

  EXPECT_EQ(pending.get().code, ErrorCode::kCancelled);
  EXPECT_EQ(callback_result.get_future().get().code, ErrorCode::kCancelled);
  // The stream outlives its client and still ends, without hanging.
  std::optional<ResultStream::Item> item = stream.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->result.code, ErrorCode::kCancelled);
  EXPECT_FALSE(stream.next().has_value());
}

}  // namespace
}  // namespace taskpool
