#include "wire/result_frame.h"

#include <gtest/gtest.h>

#include <string>

#include "wire/framing.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

v1::Result Envelope() {
  v1::Result result;
  result.set_id(300);  // a two-byte varint
  result.set_worker_pid(4242);
  result.set_queue_us(17);
  result.set_run_us(1'000'000);
  result.set_attempts(1);
  return result;
}

// What AppendResultFrame must be equivalent to.
std::string ViaSetOutput(v1::Result result, const std::string& output) {
  result.set_output(output);
  v1::ServerMessage message;
  *message.mutable_result() = std::move(result);
  std::string frame;
  AppendFrame(message, &frame);
  return frame;
}

class ResultFrameTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ResultFrameTest, ParsesAsTheResultWithItsOutput) {
  const std::string output(GetParam(), 'o');
  std::string stream = "prefix";  // appends after what is there
  AppendResultFrame(Envelope(), output, &stream);
  ASSERT_EQ(stream.substr(0, 6), "prefix");

  // The same length as protobuf's own encoding (only the field order
  // differs: the output comes last).
  EXPECT_EQ(stream.size() - 6, ViaSetOutput(Envelope(), output).size());

  FrameDecoder decoder(64 << 20);
  decoder.Append(std::string_view(stream).substr(6));
  v1::ServerMessage message;
  Status error;
  ASSERT_EQ(decoder.NextMessage(&message, &error), FrameDecoder::Outcome::kFrame)
      << error.ToString();
  ASSERT_TRUE(message.has_result());
  EXPECT_EQ(message.result().id(), 300u);
  EXPECT_EQ(message.result().worker_pid(), 4242);
  EXPECT_EQ(message.result().run_us(), 1'000'000u);
  EXPECT_EQ(message.result().output(), output);
  v1::Result expected = Envelope();
  expected.set_output(output);
  EXPECT_EQ(message.result().SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(decoder.buffered(), 0u);
}

// Empty, inline-sized, and outputs whose lengths need 2, 3 and 4 byte varints.
INSTANTIATE_TEST_SUITE_P(OutputSizes, ResultFrameTest,
                         ::testing::Values(0, 1, 127, 128, 16384, 1 << 20,
                                           (1 << 21) + 3));

}  // namespace
}  // namespace taskpool::wire
