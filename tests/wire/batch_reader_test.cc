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
  const BatchFrame frame = ReadBatchFrame(bytes);
  ASSERT_EQ(frame.kind, BatchFrame::Kind::kBatch);
  const std::string_view batch = frame.batch;
  size_t offset = 0;
  v1::Submit task;
  Status error;
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_EQ(NextBatchTask(batch, &offset, &task, &error), BatchStep::kTask) << id;
    EXPECT_EQ(task.id(), id);
    EXPECT_EQ(task.function(), "echo");
    EXPECT_EQ(task.payload(), std::string(id, 'x'));
  }
  EXPECT_EQ(NextBatchTask(batch, &offset, &task, &error), BatchStep::kEnd);
}

TEST(BatchReaderTest, GoesOnWhereItStopped) {
  const std::string bytes = Batch(2).SerializeAsString();
  const std::string_view batch = ReadBatchFrame(bytes).batch;
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
  const BatchFrame frame = ReadBatchFrame(bytes);
  ASSERT_EQ(frame.kind, BatchFrame::Kind::kBatch);
  const std::string_view batch = frame.batch;
  size_t offset = 0;
  v1::Submit task;
  Status error;
  EXPECT_EQ(NextBatchTask(batch, &offset, &task, &error), BatchStep::kEnd);
}

TEST(BatchReaderTest, OtherMessagesAreLeftToTheWholeParse) {
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  EXPECT_EQ(ReadBatchFrame(ping.SerializeAsString()).kind, BatchFrame::Kind::kNotABatch);
  EXPECT_EQ(ReadBatchFrame("").kind, BatchFrame::Kind::kNotABatch);
}

TEST(BatchReaderTest, ABatchThatIsNotAloneAndWholeIsRefused) {
  // Two batch fields would merge in a whole parse, which costs 10-40x the
  // frame: refused instead, as a batch beside another field is.
  const std::string twice = Batch(1).SerializeAsString() + Batch(1).SerializeAsString();
  EXPECT_EQ(ReadBatchFrame(twice).kind, BatchFrame::Kind::kMalformed);
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  const std::string beside = ping.SerializeAsString() + Batch(1).SerializeAsString();
  EXPECT_EQ(ReadBatchFrame(beside).kind, BatchFrame::Kind::kMalformed);
  const std::string bytes = Batch(2).SerializeAsString();
  EXPECT_EQ(ReadBatchFrame(bytes.substr(0, bytes.size() - 1)).kind,
            BatchFrame::Kind::kMalformed);
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
