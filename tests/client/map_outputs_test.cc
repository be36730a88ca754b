// MapOutputs as map_outputs fills it: views into chunk outputs that stay
// valid however the results arrive and wherever the object moves, and
// every failure (an item's, a chunk's, a malformed answer's) in its place.
#include "client/map_outputs_builder.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "wire/chunk_wire.h"

namespace taskpool::client {
namespace {

// A chunk task's Result whose output holds `items`, as a worker encodes it.
ChunkResults Chunk(const std::vector<wire::ItemResultView>& items) {
  v1::Result result;
  result.set_code(v1::OK);
  for (const wire::ItemResultView& item : items) {
    wire::AppendItemResult(item, result.mutable_output());
  }
  return ChunkResults{items.size(), std::move(result)};
}

wire::ItemResultView Ok(std::string_view output) { return {ErrorCode::kOk, "", output, 7}; }

TaskResult Single(std::string output) {
  TaskResult result;
  result.output = std::move(output);
  return result;
}

TEST(MapOutputsTest, ResultsArrivingInAnyOrderLandInInputOrder) {
  MapOutputsBuilder builder(6);
  // Short outputs live inside their std::string; a later chunk must not
  // move them.
  builder.Add(3, Chunk({Ok("d"), Ok("e"), Ok(std::string(100, 'f'))}));
  builder.Add(1, Single("b"));
  builder.Add(0, Single(std::string(5000, 'a')));
  builder.Add(2, ChunkResults{1, Single("c")});  // a chunk sent as one task
  MapOutputs outputs = std::move(builder).Take();
  ASSERT_EQ(outputs.size(), 6u);
  EXPECT_EQ(outputs[0], std::string(5000, 'a'));
  EXPECT_EQ(outputs[1], "b");
  EXPECT_EQ(outputs[2], "c");
  EXPECT_EQ(outputs[3], "d");
  EXPECT_EQ(outputs[4], "e");
  EXPECT_EQ(outputs[5], std::string(100, 'f'));
  EXPECT_EQ(outputs.failed(), 0u);
  for (size_t i = 0; i < outputs.size(); ++i) EXPECT_TRUE(outputs.status(i).ok());
}

TEST(MapOutputsTest, ViewsSurviveMovingTheOutputs) {
  MapOutputsBuilder builder(400);
  for (size_t i = 0; i < 400; ++i) builder.Add(i, Single(std::to_string(i)));
  MapOutputs first = std::move(builder).Take();
  MapOutputs second;
  second = std::move(first);
  MapOutputs third(std::move(second));
  for (size_t i = 0; i < 400; ++i) ASSERT_EQ(third[i], std::to_string(i));
}

TEST(MapOutputsTest, EachItemsFailureStaysInItsPlace) {
  MapOutputsBuilder builder(4);
  builder.Add(0, Chunk({Ok("fine"), {ErrorCode::kInvalidArgument, "not a number: x", "", 1}}));
  TaskResult failed;
  failed.code = ErrorCode::kTaskFailed;
  failed.error = "it broke";
  builder.Add(3, std::move(failed));
  builder.Add(2, Single(""));
  MapOutputs outputs = std::move(builder).Take();
  EXPECT_TRUE(outputs.ok(0));
  EXPECT_EQ(outputs[0], "fine");
  EXPECT_FALSE(outputs.ok(1));
  EXPECT_EQ(outputs[1], "");
  EXPECT_EQ(outputs.status(1).ToString(), "INVALID_ARGUMENT: not a number: x");
  EXPECT_TRUE(outputs.ok(2)) << "an empty output is an output";
  EXPECT_EQ(outputs.status(3).ToString(), "TASK_FAILED: it broke");
  EXPECT_EQ(outputs.failed(), 2u);
}

TEST(MapOutputsTest, AChunkThatFailedFailsEveryItemOfIt) {
  MapOutputsBuilder builder(5);
  v1::Result died;
  died.set_code(v1::WORKER_DIED);
  died.set_error("worker 77 was killed by signal 9");
  builder.Add(0, ChunkResults{3, std::move(died)});
  TaskResult lost;
  lost.code = ErrorCode::kConnectionLost;
  lost.error = "gone";
  builder.Add(3, ChunkResults{2, lost});  // never sent: one result for all
  MapOutputs outputs = std::move(builder).Take();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(outputs.status(i).ToString(), "WORKER_DIED: worker 77 was killed by signal 9");
  }
  EXPECT_EQ(outputs.status(3).code(), ErrorCode::kConnectionLost);
  EXPECT_EQ(outputs.status(4).code(), ErrorCode::kConnectionLost);
  EXPECT_EQ(outputs.failed(), 5u);
}

TEST(MapOutputsTest, AnAnswerWithoutOneOutcomePerItemFailsTheWholeChunk) {
  MapOutputsBuilder builder(7);
  // Too few, too many (the extra would land past the chunk), and bytes
  // that are no ChunkOutput, the first after one of its items failed.
  builder.Add(0, ChunkResults{2, std::get<v1::Result>(Chunk({Ok("one")}).outcome)});
  builder.Add(2, ChunkResults{1, std::get<v1::Result>(Chunk({Ok("x"), Ok("y")}).outcome)});
  v1::Result garbage = std::get<v1::Result>(
      Chunk({{ErrorCode::kTaskFailed, "first", "", 1}, Ok("second")}).outcome);
  garbage.mutable_output()->append("\xff\xff\xff");
  builder.Add(3, ChunkResults{2, std::move(garbage)});
  builder.Add(5, Chunk({Ok("5"), Ok("6")}));
  MapOutputs outputs = std::move(builder).Take();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(outputs.status(i).code(), ErrorCode::kInternal) << i;
    EXPECT_NE(outputs.status(i).message().find("one outcome per item"), std::string::npos);
    EXPECT_EQ(outputs[i], "");
  }
  EXPECT_EQ(outputs[5], "5");
  EXPECT_EQ(outputs[6], "6");
  EXPECT_EQ(outputs.failed(), 5u);
}

TEST(MapOutputsTest, ResultsFromTwoThreadsAtOnceAllLand) {
  // The reader thread and a submitting thread failing tasks before they
  // are sent can add at the same moment.
  constexpr size_t kEach = 20000;
  MapOutputsBuilder builder(2 * kEach);
  std::thread other([&] {
    for (size_t i = 0; i < kEach; ++i) builder.Add(2 * i + 1, Single("odd"));
  });
  for (size_t i = 0; i < kEach; ++i) builder.Add(2 * i, Chunk({Ok("even")}));
  other.join();
  MapOutputs outputs = std::move(builder).Take();
  for (size_t i = 0; i < outputs.size(); ++i) ASSERT_EQ(outputs[i], i % 2 ? "odd" : "even");
}

}  // namespace
}  // namespace taskpool::client
