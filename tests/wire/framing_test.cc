#include "wire/framing.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {
namespace {

using Outcome = FrameDecoder::Outcome;

v1::ClientMessage SubmitMessage(uint64_t id, std::string payload) {
  v1::ClientMessage message;
  message.mutable_submit()->set_id(id);
  message.mutable_submit()->set_function("echo");
  message.mutable_submit()->set_payload(std::move(payload));
  return message;
}

TEST(FramingTest, FramesRoundTripThroughDecoder) {
  std::string stream;
  AppendFrame(SubmitMessage(1, "a"), &stream);
  AppendFrame(SubmitMessage(2, std::string(300, 'b')),
              &stream);  // 2-byte length

  FrameDecoder decoder(1 << 20);
  decoder.Append(stream);
  Status error;
  v1::ClientMessage message;
  ASSERT_EQ(decoder.NextMessage(&message, &error), Outcome::kFrame);
  EXPECT_EQ(message.submit().id(), 1u);
  ASSERT_EQ(decoder.NextMessage(&message, &error), Outcome::kFrame);
  EXPECT_EQ(message.submit().id(), 2u);
  EXPECT_EQ(message.submit().payload(), std::string(300, 'b'));
  EXPECT_EQ(decoder.NextMessage(&message, &error), Outcome::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FramingTest, EmptyMessageIsAOneByteFrame) {
  std::string stream;
  AppendFrame(v1::ClientMessage(), &stream);
  EXPECT_EQ(stream, std::string(1, '\0'));
  FrameDecoder decoder(16);
  decoder.Append(stream);
  std::string_view body;
  Status error;
  ASSERT_EQ(decoder.Next(&body, &error), Outcome::kFrame);
  EXPECT_TRUE(body.empty());
}

TEST(FramingTest, ByteByByteDeliveryYieldsTheSameFrames) {
  std::string stream;
  for (uint64_t id = 1; id <= 3; ++id) {
    AppendFrame(SubmitMessage(id, std::string(200 * id, 'p')), &stream);
  }
  FrameDecoder decoder(1 << 20);
  Status error;
  v1::ClientMessage message;
  std::vector<uint64_t> ids;
  for (char byte : stream) {
    // Through the zero-copy path, one byte at a time.
    *decoder.PrepareAppend(1) = byte;
    decoder.Commit(1);
    Outcome outcome;
    while ((outcome = decoder.NextMessage(&message, &error)) ==
           Outcome::kFrame) {
      ids.push_back(message.submit().id());
    }
    ASSERT_EQ(outcome, Outcome::kNeedMore) << error.ToString();
  }
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(FramingTest, FrameAboveLimitIsRefusedBeforeItsBody) {
  std::string stream;
  AppendFrame(SubmitMessage(1, std::string(100, 'x')), &stream);
  FrameDecoder decoder(50);
  decoder.Append(stream.substr(0, 2));  // just the length header
  std::string_view body;
  Status error;
  ASSERT_EQ(decoder.Next(&body, &error), Outcome::kError);
  EXPECT_EQ(error.code(), ErrorCode::kFrameTooLarge);
  EXPECT_NE(error.message().find("exceeds the limit of 50"), std::string::npos)
      << error.message();
}

TEST(FramingTest, FrameExactlyAtLimitIsAccepted) {
  FrameDecoder decoder(3);
  decoder.Append(
      std::string("\x03"
                  "abc",
                  4));
  std::string_view body;
  Status error;
  ASSERT_EQ(decoder.Next(&body, &error), Outcome::kFrame);
  EXPECT_EQ(body, "abc");
}

TEST(FramingTest, OverlongVarintIsMalformed) {
  FrameDecoder decoder(1 << 20);
  decoder.Append(std::string(6, '\x80'));
  std::string_view body;
  Status error;
  ASSERT_EQ(decoder.Next(&body, &error), Outcome::kError);
  EXPECT_EQ(error.code(), ErrorCode::kMalformedFrame);
}

TEST(FramingTest, PartialVarintNeedsMore) {
  FrameDecoder decoder(1 << 20);
  decoder.Append(std::string(4, '\x80'));
  std::string_view body;
  Status error;
  EXPECT_EQ(decoder.Next(&body, &error), Outcome::kNeedMore);
}

// A 5-byte varint whose value does not fit in 32 bits (here 2^32) must not
// be truncated to a small length (0), which would desynchronise the stream.
TEST(FramingTest, LengthAbove32BitsIsRefusedNotTruncated) {
  FrameDecoder decoder(1 << 20);
  decoder.Append(std::string("\x80\x80\x80\x80\x10", 5));
  std::string_view body;
  Status error;
  ASSERT_EQ(decoder.Next(&body, &error), Outcome::kError);
  EXPECT_EQ(error.code(), ErrorCode::kMalformedFrame);
}

TEST(FramingTest, BodyThatDoesNotParseIsMalformed) {
  FrameDecoder decoder(1 << 20);
  decoder.Append(std::string("\x02\xff\xff", 3));  // invalid tag/wire type
  v1::ClientMessage message;
  Status error;
  ASSERT_EQ(decoder.NextMessage(&message, &error), Outcome::kError);
  EXPECT_EQ(error.code(), ErrorCode::kMalformedFrame);
  EXPECT_NE(error.message().find("taskpool.v1.ClientMessage"),
            std::string::npos)
      << error.message();
}

TEST(FramingTest, BufferIsCompactedAfterFrames) {
  FrameDecoder decoder(1 << 20);
  std::string frame;
  AppendFrame(SubmitMessage(1, std::string(1000, 'z')), &frame);
  std::string_view body;
  Status error;
  for (int i = 0; i < 100; ++i) {
    decoder.Append(frame);
    ASSERT_EQ(decoder.Next(&body, &error), Outcome::kFrame);
  }
  EXPECT_EQ(decoder.buffered(), 0u);
}

// A frame far larger than one read, as a reader with 64 KiB reads sees
// it: once the length is known, ReadSize asks for the whole rest at once.
TEST(FramingTest, LargeFrameInPiecesAsksForItsRemainderInOneRead) {
  constexpr size_t kRead = 64 * 1024;
  const std::string payload(3 * 1024 * 1024 + 17, 'L');
  std::string stream;
  AppendFrame(SubmitMessage(7, payload), &stream);
  AppendFrame(SubmitMessage(8, "after"), &stream);

  FrameDecoder decoder(8 << 20);
  EXPECT_EQ(decoder.ReadSize(kRead), kRead);  // nothing known yet
  Status error;
  v1::ClientMessage message;
  size_t offset = 0;
  size_t reads = 0;
  std::vector<uint64_t> ids;
  while (offset < stream.size()) {
    const size_t size = std::min(decoder.ReadSize(kRead), stream.size() - offset);
    std::memcpy(decoder.PrepareAppend(size), stream.data() + offset, size);
    decoder.Commit(size);
    offset += size;
    ++reads;
    Outcome outcome;
    while ((outcome = decoder.NextMessage(&message, &error)) == Outcome::kFrame) {
      ids.push_back(message.submit().id());
      if (message.submit().id() == 7) {
        EXPECT_EQ(message.submit().payload(), payload);
      }
    }
    ASSERT_EQ(outcome, Outcome::kNeedMore) << error.ToString();
  }
  EXPECT_EQ(ids, (std::vector<uint64_t>{7, 8}));
  // The first 64 KiB, the rest of the big frame, then the small one.
  EXPECT_EQ(reads, 3u);
  EXPECT_EQ(decoder.ReadSize(kRead), kRead);
  EXPECT_EQ(decoder.buffered(), 0u);
}

// ReadSize never asks for more than a frame the limit allows.
TEST(FramingTest, ReadSizeIgnoresAFrameOverTheLimit) {
  std::string stream;
  AppendFrame(SubmitMessage(1, std::string(4096, 'x')), &stream);
  FrameDecoder decoder(1024);
  decoder.Append(std::string_view(stream).substr(0, 16));
  Status error;
  std::string_view body;
  EXPECT_EQ(decoder.Next(&body, &error), Outcome::kError);
  EXPECT_EQ(decoder.ReadSize(512), 512u);
}

}  // namespace
}  // namespace taskpool::wire
