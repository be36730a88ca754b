#include "daemon/tasks/chunk_task.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {
namespace {

using ::testing::HasSubstr;

std::string ChunkOf(const std::vector<std::string>& items) {
  v1::ChunkPayload chunk;
  for (const std::string& item : items) chunk.add_items(item);
  return chunk.SerializeAsString();
}

// A registry with "upper" (echoes in capitals, fails on "bad") and
// "cancel_after_first", which asks the chunk to stop after its first item.
class ChunkTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_
                    .Register("upper",
                              [](std::string_view payload) {
                                if (payload == "bad") {
                                  return TaskOutcome::Error(ErrorCode::kInvalidArgument,
                                                            "bad input");
                                }
                                std::string out(payload);
                                for (char& c : out) c = static_cast<char>(std::toupper(c));
                                return TaskOutcome::Ok(out);
                              })
                    .ok());
    upper_ = *registry_.Find("upper");
  }

  v1::ChunkOutput Run(const std::vector<std::string>& items, ChunkEnvironment environment) {
    ChunkOutcome ran = RunChunk(registry_, upper_, ChunkOf(items), environment);
    EXPECT_EQ(ran.outcome.code, ErrorCode::kOk) << ran.outcome.data;
    EXPECT_EQ(ran.items, items.size());
    v1::ChunkOutput output;
    EXPECT_TRUE(output.ParseFromString(ran.outcome.data));
    return output;
  }

  TaskRegistry registry_;
  uint32_t upper_ = 0;
};

TEST_F(ChunkTaskTest, RunsEachItemInOrderWithItsOwnOutcome) {
  int started = 0;
  const v1::ChunkOutput output =
      Run({"a", "bad", "c"}, {{}, {}, {}, [&started](base::SteadyTime) { ++started; }});
  ASSERT_EQ(output.items_size(), 3);
  EXPECT_EQ(output.items(0).code(), v1::OK);
  EXPECT_EQ(output.items(0).output(), "A");
  EXPECT_EQ(output.items(1).code(), v1::INVALID_ARGUMENT);
  EXPECT_EQ(output.items(1).error(), "bad input");
  EXPECT_EQ(output.items(2).output(), "C");
  EXPECT_EQ(started, 3);  // the worker's activity clock restarts per item
}

TEST_F(ChunkTaskTest, ItemsNotStartedWhenCancelledEndCancelled) {
  int started = 0;
  TaskContext context;
  context.cancelled = [&started] { return started >= 1; };
  const v1::ChunkOutput output =
      Run({"a", "b", "c"}, {context, {}, {}, [&](base::SteadyTime) { ++started; }});
  ASSERT_EQ(output.items_size(), 3);
  EXPECT_EQ(output.items(0).code(), v1::OK);
  EXPECT_EQ(output.items(1).code(), v1::CANCELLED);
  EXPECT_THAT(output.items(1).error(), HasSubstr("cancelled before this item ran"));
  EXPECT_EQ(output.items(2).code(), v1::CANCELLED);
  EXPECT_EQ(started, 1);
}

TEST_F(ChunkTaskTest, EachItemsDeadlineIsItsStartPlusTheTimeout) {
  std::optional<base::WallTime> seen_deadline;
  ASSERT_TRUE(registry_
                  .Register("deadline",
                            [&](std::string_view, const TaskContext& context) {
                              seen_deadline = context.deadline;
                              return TaskOutcome::Ok("");
                            })
                  .ok());
  const base::WallTime before = base::WallClock::now();
  ChunkEnvironment environment;
  environment.item_timeout = std::chrono::seconds(60);
  RunChunk(registry_, *registry_.Find("deadline"), ChunkOf({"x"}), environment);
  ASSERT_TRUE(seen_deadline.has_value());
  EXPECT_GE(*seen_deadline, before + environment.item_timeout);
  EXPECT_LE(*seen_deadline, base::WallClock::now() + environment.item_timeout);

  // A submission deadline earlier than that wins.
  environment.deadline = before + std::chrono::milliseconds(1);
  RunChunk(registry_, *registry_.Find("deadline"), ChunkOf({"x"}), environment);
  ASSERT_TRUE(seen_deadline.has_value());
  EXPECT_EQ(*seen_deadline, *environment.deadline);

  // Neither: no deadline.
  environment = {};
  RunChunk(registry_, *registry_.Find("deadline"), ChunkOf({"x"}), environment);
  EXPECT_FALSE(seen_deadline.has_value());
}

TEST_F(ChunkTaskTest, NotAChunkPayloadIsInvalidArgument) {
  const ChunkOutcome ran = RunChunk(registry_, upper_, "\xff\xff\xff", {});
  EXPECT_EQ(ran.outcome.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(ran.outcome.data, HasSubstr("ChunkPayload"));
}

TEST(CountChunkItemsTest, CountsItemsIncludingEmptyOnes) {
  Result<uint32_t> items = CountChunkItems(ChunkOf({"a", "", std::string(100000, 'x')}));
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(*items, 3u);
}

}  // namespace
}  // namespace taskpool::daemon
