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

// Reads batches as the session does: a cursor into the batch's bytes, the
// task read last and the error of a step that failed.
class BatchReaderTest : public ::testing::Test {
 protected:
  // The batch `message` frames (checked to be one), kept alive here.
  std::string_view BatchOf(const v1::ClientMessage& message) {
    bytes_ = message.SerializeAsString();
    const BatchFrame frame = ReadBatchFrame(bytes_);
    EXPECT_EQ(frame.kind, BatchFrame::Kind::kBatch);
    return frame.batch;
  }
  BatchStep Next(std::string_view batch) {
    return NextBatchTask(batch, &offset_, &task_, &error_);
  }

  std::string bytes_;
  size_t offset_ = 0;
  v1::Submit task_;
  Status error_;
};

TEST_F(BatchReaderTest, ReadsEveryTaskInOrder) {
  const std::string_view batch = BatchOf(Batch(3));
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_EQ(Next(batch), BatchStep::kTask) << id;
    EXPECT_EQ(task_.id(), id);
    EXPECT_EQ(task_.function(), "echo");
    EXPECT_EQ(task_.payload(), std::string(id, 'x'));
  }
  EXPECT_EQ(Next(batch), BatchStep::kEnd);
}

TEST_F(BatchReaderTest, GoesOnWhereItStopped) {
  const std::string_view batch = BatchOf(Batch(2));
  ASSERT_EQ(Next(batch), BatchStep::kTask);
  // As the session holds it: only the rest, from 0.
  const std::string rest(batch.substr(offset_));
  offset_ = 0;
  ASSERT_EQ(Next(rest), BatchStep::kTask);
  EXPECT_EQ(task_.id(), 2u);
  EXPECT_EQ(Next(rest), BatchStep::kEnd);
}

TEST_F(BatchReaderTest, AnEmptyBatchHasNoTasks) {
  v1::ClientMessage message;
  message.mutable_submit_batch();
  EXPECT_EQ(Next(BatchOf(message)), BatchStep::kEnd);
}

TEST_F(BatchReaderTest, OtherMessagesAreLeftToTheWholeParse) {
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  EXPECT_EQ(ReadBatchFrame(ping.SerializeAsString()).kind, BatchFrame::Kind::kNotABatch);
  EXPECT_EQ(ReadBatchFrame("").kind, BatchFrame::Kind::kNotABatch);
}

TEST_F(BatchReaderTest, ABatchThatIsNotAloneAndWholeIsRefused) {
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

TEST_F(BatchReaderTest, ATaskThatDoesNotParseIsAnError) {
  // tasks (field 1, length 2) holding field 1 as a length-delimited value
  // of 5 bytes it does not have.
  EXPECT_EQ(Next("\x0a\x02\x0a\x05"), BatchStep::kError);
  EXPECT_EQ(error_.code(), ErrorCode::kMalformedFrame);
  EXPECT_NE(error_.message().find("taskpool.v1.Submit"), std::string::npos) << error_.message();
}

}  // namespace
}  // namespace taskpool::wire
