// A SubmitBatch read task by task from its bytes gives the tasks a whole
// parse would, and anything else is left to the whole parse.
#include "wire/batch_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

v1::ClientMessage Batch(int tasks) {
  v1::ClientMessage message;
  for (int id = 1; id <= tasks; ++id) {
    v1::Submit* submit = message.mutable_submit_batch()->add_tasks();
    submit->set_id(static_cast<uint64_t>(id));
    submit->set_function("echo");
    submit->set_payload(std::string(static_cast<size_t>(id), 'x'));
  }
  return message;
}

TEST(BatchReaderTest, ReadsEveryTaskInOrder) {
  const std::string bytes = Batch(3).SerializeAsString();
  const std::optional<std::string_view> batch = SoleSubmitBatch(bytes);
  ASSERT_TRUE(batch.has_value());
  size_t offset = 0;
  v1::Submit task;
  Status error;
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_EQ(NextBatchTask(*batch, &offset, &task, &error), BatchStep::kTask) << id;
    EXPECT_EQ(task.id(), id);
    EXPECT_EQ(task.function(), "echo");
    EXPECT_EQ(task.payload(), std::string(id, 'x'));
  }
  EXPECT_EQ(NextBatchTask(*batch, &offset, &task, &error), BatchStep::kEnd);
}

TEST(BatchReaderTest, GoesOnWhereItStopped) {
  const std::string bytes = Batch(2).SerializeAsString();
  const std::string_view batch = *SoleSubmitBatch(bytes);
  size_t offset = 0;
  v1::Submit task;
  Status error;
  ASSERT_EQ(NextBatchTask(batch, &offset, &task, &error), BatchStep::kTask);
  // As the session holds it: only the rest, from 0.
  const std::string rest(batch.substr(offset));
  offset = 0;
  ASSERT_EQ(NextBatchTask(rest, &offset, &task, &error), BatchStep::kTask);
  EXPECT_EQ(task.id(), 2u);
  EXPECT_EQ(NextBatchTask(rest, &offset, &task, &error), BatchStep::kEnd);
}

TEST(BatchReaderTest, AnEmptyBatchHasNoTasks) {
  v1::ClientMessage message;
  message.mutable_submit_batch();
  const std::string bytes = message.SerializeAsString();
  const std::optional<std::string_view> batch = SoleSubmitBatch(bytes);
  ASSERT_TRUE(batch.has_value());
  size_t offset = 0;
  v1::Submit task;
  Status error;
  EXPECT_EQ(NextBatchTask(*batch, &offset, &task, &error), BatchStep::kEnd);
}

TEST(BatchReaderTest, OtherMessagesAreLeftToTheWholeParse) {
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  EXPECT_FALSE(SoleSubmitBatch(ping.SerializeAsString()).has_value());
  // Two batch fields merge in a whole parse: not one to read by its bytes.
  const std::string twice = Batch(1).SerializeAsString() + Batch(1).SerializeAsString();
  EXPECT_FALSE(SoleSubmitBatch(twice).has_value());
  // Cut short: the whole parse reports it.
  const std::string bytes = Batch(2).SerializeAsString();
  EXPECT_FALSE(SoleSubmitBatch(bytes.substr(0, bytes.size() - 1)).has_value());
  EXPECT_FALSE(SoleSubmitBatch("").has_value());
}

TEST(BatchReaderTest, ATaskThatDoesNotParseIsAnError) {
  // tasks (field 1, length 2) holding field 1 as a length-delimited value
  // of 5 bytes it does not have.
  std::string batch = "\x0a\x02\x0a\x05";
  size_t offset = 0;
  v1::Submit task;
  Status error;
  EXPECT_EQ(NextBatchTask(batch, &offset, &task, &error), BatchStep::kError);
  EXPECT_EQ(error.code(), ErrorCode::kMalformedFrame);
  EXPECT_NE(error.message().find("taskpool.v1.Submit"), std::string::npos) << error.message();
}

}  // namespace
}  // namespace taskpool::wire
