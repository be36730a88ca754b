#include "wire/framing.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>

namespace taskpool::wire {

namespace {
// A varint32 never needs more than 5 bytes.
constexpr size_t kMaxVarintBytes = 5;
}  // namespace

size_t FrameSize(const google::protobuf::MessageLite& message) {
  const size_t body_size = message.ByteSizeLong();
  return google::protobuf::io::CodedOutputStream::VarintSize32(
             static_cast<uint32_t>(body_size)) +
         body_size;
}

void WriteFrameTo(const google::protobuf::MessageLite& message, char* target) {
  auto* out = reinterpret_cast<uint8_t*>(target);
  out = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(message.GetCachedSize()), out);
  message.SerializeWithCachedSizesToArray(out);
}

void AppendFrame(const google::protobuf::MessageLite& message,
                 std::string* out) {
  const size_t frame_size = FrameSize(message);
  const size_t start = out->size();
  out->resize(start + frame_size);
  WriteFrameTo(message, out->data() + start);
}

FrameDecoder::FrameDecoder(size_t max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes) {}

void FrameDecoder::Append(std::string_view bytes) {
  char* area = PrepareAppend(bytes.size());
  std::memcpy(area, bytes.data(), bytes.size());
  Commit(bytes.size());
}

char* FrameDecoder::PrepareAppend(size_t min_size) {
  Compact();
  if (capacity_ - filled_ < min_size) Grow(filled_ + min_size);
  return buffer_.get() + filled_;
}

// Doubles (amortised growth while a large frame arrives), but never past
// what the largest acceptable frame plus this read can need.
void FrameDecoder::Grow(size_t min_capacity) {
  const size_t ceiling = max_frame_bytes_ + kMaxVarintBytes +
                         (min_capacity > filled_ ? min_capacity - filled_ : 0);
  const size_t capacity =
      std::max(min_capacity, std::min(2 * capacity_, ceiling));
  auto grown = std::make_unique_for_overwrite<char[]>(capacity);
  if (filled_ != 0) std::memcpy(grown.get(), buffer_.get(), filled_);
  buffer_ = std::move(grown);
  capacity_ = capacity;
}

void FrameDecoder::Commit(size_t bytes) { filled_ += bytes; }

void FrameDecoder::ReleaseIfEmpty(size_t keep) {
  if (buffered() == 0 && capacity_ > keep) Clear();
}

void FrameDecoder::Clear() {
  buffer_.reset();
  capacity_ = filled_ = consumed_ = missing_ = 0;
}

// Moves unread bytes to the front so the buffer never grows past one frame
// plus one read.
void FrameDecoder::Compact() {
  if (consumed_ == 0) return;
  std::memmove(buffer_.get(), buffer_.get() + consumed_, filled_ - consumed_);
  filled_ -= consumed_;
  consumed_ = 0;
}

FrameDecoder::Outcome FrameDecoder::Next(std::string_view* body,
                                         Status* error) {
  missing_ = 0;
  const auto* begin =
      reinterpret_cast<const uint8_t*>(buffer_.get() + consumed_);
  const size_t available = filled_ - consumed_;
  if (available == 0) return Outcome::kNeedMore;

  // Decode the varint length by hand-off to protobuf's reader, but only once
  // the header is complete, so a partial header is not mistaken for garbage.
  size_t header_size = 0;
  while (header_size < available && header_size < kMaxVarintBytes &&
         (begin[header_size] & 0x80) != 0) {
    ++header_size;
  }
  if (header_size == kMaxVarintBytes) {
    *error = Status(ErrorCode::kMalformedFrame,
                    "frame length is not a valid varint32");
    return Outcome::kError;
  }
  if (header_size == available) return Outcome::kNeedMore;
  ++header_size;  // include the final byte (high bit clear)
  // The 5th byte of a varint32 carries only bits 28..31. protobuf's reader
  // would silently drop higher bits (2^32 reads as 0), desynchronising the
  // stream, so refuse them here.
  if (header_size == kMaxVarintBytes && begin[kMaxVarintBytes - 1] > 0x0F) {
    *error = Status(ErrorCode::kMalformedFrame,
                    "frame length does not fit in 32 bits");
    return Outcome::kError;
  }

  google::protobuf::io::CodedInputStream header(begin, header_size);
  uint32_t length = 0;
  if (!header.ReadVarint32(&length)) {
    *error = Status(ErrorCode::kMalformedFrame,
                    "frame length is not a valid varint32");
    return Outcome::kError;
  }
  if (length > max_frame_bytes_) {
    *error = Status(ErrorCode::kFrameTooLarge,
                    "frame of " + std::to_string(length) +
                        " bytes exceeds the limit of " +
                        std::to_string(max_frame_bytes_) + " bytes");
    return Outcome::kError;
  }
  if (available - header_size < length) {
    missing_ = length - (available - header_size);
    return Outcome::kNeedMore;
  }

  *body = std::string_view(buffer_.get() + consumed_ + header_size, length);
  consumed_ += header_size + length;
  return Outcome::kFrame;
}

Status ParseFrameBody(std::string_view body, google::protobuf::MessageLite* message) {
  if (message->ParseFromArray(body.data(), static_cast<int>(body.size()))) return Status::Ok();
  return Status(ErrorCode::kMalformedFrame, "frame of " + std::to_string(body.size()) +
                                                " bytes does not parse as " +
                                                message->GetTypeName());
}

FrameDecoder::Outcome FrameDecoder::NextMessage(
    google::protobuf::MessageLite* message, Status* error) {
  std::string_view body;
  const Outcome outcome = Next(&body, error);
  if (outcome != Outcome::kFrame) return outcome;
  if (Status parsed = ParseFrameBody(body, message); !parsed.ok()) {
    *error = std::move(parsed);
    return Outcome::kError;
  }
  return Outcome::kFrame;
}

}  // namespace taskpool::wire
