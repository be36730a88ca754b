// imap and imap_unordered: ordering, laziness of the input, timed waits.
#include <gtest/gtest.h>

#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using std::chrono::milliseconds;
using testing::FakeDaemon;

class StreamTest : public testing::FakeDaemonTest {
 protected:
  // 0, 1, ..., count-1, counting how many were pulled.
  Client::InputSource Numbers(size_t count) {
    return [this, count]() -> std::optional<std::string> {
      if (pulled_ == count) return std::nullopt;
      return std::to_string(pulled_++);
    };
  }

  size_t pulled_ = 0;
};

TEST_F(StreamTest, ImapYieldsBeforeInputIsExhausted) {
  constexpr size_t kInputs = 1000;
  ResultStream stream = client_->imap("echo", Numbers(kInputs),
                                      /*chunksize=*/2, /*window=*/6);
  std::optional<ResultStream::Item> first = stream.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->index, 0u);
  EXPECT_EQ(first->result.output, "0");
  EXPECT_LE(pulled_, 6u);  // only the window was pulled

  size_t expected = 1;
  while (std::optional<ResultStream::Item> item = stream.next()) {
    ASSERT_EQ(item->index, expected);
    ASSERT_EQ(item->result.output, std::to_string(expected));
    ++expected;
  }
  EXPECT_EQ(expected, kInputs);
  EXPECT_FALSE(stream.next().has_value());
}

TEST_F(StreamTest, ImapKeepsOrderWhenCompletionIsNot) {
  ResultStream stream =
      client_->imap("delay", std::vector<std::string>{"150", "0", "40"});
  for (size_t i = 0; i < 3; ++i) {
    std::optional<ResultStream::Item> item = stream.next();
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->index, i);
  }
  EXPECT_FALSE(stream.next().has_value());
}

TEST_F(StreamTest, ImapUnorderedYieldsInCompletionOrder) {
  // A temporary vector: the stream must not depend on it.
  ResultStream stream =
      client_->imap_unordered("delay", std::vector<std::string>{"300", "0"});
  std::optional<ResultStream::Item> first = stream.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->index, 1u);
  EXPECT_EQ(first->result.output, "0");
  std::optional<ResultStream::Item> second = stream.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->index, 0u);
  EXPECT_EQ(second->result.output, "300");
  EXPECT_FALSE(stream.next().has_value());
}

TEST_F(StreamTest, ImapUnorderedCoversEveryInputOnce) {
  ResultStream stream = client_->imap_unordered("echo", Numbers(100), 7, 20);
  std::vector<int> seen(100, 0);
  while (std::optional<ResultStream::Item> item = stream.next()) {
    ASSERT_LT(item->index, seen.size());
    EXPECT_EQ(item->result.output, std::to_string(item->index));
    ++seen[item->index];
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 100);
}

TEST_F(StreamTest, NextForTimesOutAndStreamStaysUsable) {
  ResultStream stream = client_->imap("delay", {"200"});
  std::optional<ResultStream::Item> early = stream.next_for(milliseconds(1));
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->result.code, ErrorCode::kWaitTimeout);
  std::optional<ResultStream::Item> item = stream.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_TRUE(item->result.ok());
  EXPECT_FALSE(stream.next_for(milliseconds(1)).has_value());
}

TEST_F(StreamTest, DroppingAStreamEarlyStopsPullingInput) {
  {
    ResultStream stream = client_->imap("echo", Numbers(1000), 1, 4);
    ASSERT_TRUE(stream.next().has_value());
  }
  const size_t pulled = pulled_;
  EXPECT_LE(pulled, 5u);
  // The connection is unharmed by the results nobody reads.
  EXPECT_EQ(client_->call("echo", "after").output, "after");
  EXPECT_EQ(pulled_, pulled);
}

TEST_F(StreamTest, MovedStreamContinues) {
  ResultStream stream = client_->imap("echo", {"a", "b"});
  ASSERT_EQ(stream.next()->result.output, "a");
  ResultStream moved = std::move(stream);
  EXPECT_EQ(moved.next()->result.output, "b");
  EXPECT_FALSE(moved.next().has_value());
}

}  // namespace
}  // namespace taskpool
