// Protobuf size-delimited framing: a varint byte count, then the message.
//
// FrameDecoder turns a byte stream that arrives in arbitrary pieces into
// whole frames, refusing any frame above a size limit before buffering it,
// so a peer cannot make us allocate more than about max_frame_bytes + one
// read. Once a frame's length is known, ReadSize() tells the reader how much
// to ask for so that a large frame arrives in one read instead of many.
//
// Thread-safety: a FrameDecoder is used by one thread (one connection).
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "taskpool/status.hpp"

namespace taskpool::wire {

// Appends `message` to `out` as one delimited frame.
void AppendFrame(const google::protobuf::MessageLite& message,
                 std::string* out);

// The two halves of AppendFrame, for a caller with a buffer of its own:
// FrameSize computes (and caches) the sizes, WriteFrameTo then writes
// exactly that many bytes at `target`. REQUIRES: `message` unchanged between.
size_t FrameSize(const google::protobuf::MessageLite& message);
void WriteFrameTo(const google::protobuf::MessageLite& message, char* target);

// Parses a frame's `body` as `message`; MALFORMED_FRAME naming the type if
// it does not parse.
Status ParseFrameBody(std::string_view body, google::protobuf::MessageLite* message);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes);

  // Copies `bytes` into the internal buffer.
  void Append(std::string_view bytes);

  // A writable area of at least `min_size` bytes at the end of the buffer,
  // for reading from a socket without an extra copy; then call
  // Commit(bytes_read).
  char* PrepareAppend(size_t min_size);
  void Commit(size_t bytes);

  // How many bytes the next read should ask for: `usual`, or more when the
  // frame being received needs more than that to be whole (its length is
  // known and already checked against the limit). Pass it to PrepareAppend.
  size_t ReadSize(size_t usual) const {
    return missing_ > usual ? missing_ : usual;
  }

  enum class Outcome { kFrame, kNeedMore, kError };

  // Extracts the next whole frame's body into *body (valid until the next
  // call on this decoder). kError sets *error to MALFORMED_FRAME (a length
  // that is not a valid varint) or FRAME_TOO_LARGE; the stream cannot be
  // resynchronised after an error, so the caller should close it.
  Outcome Next(std::string_view* body, Status* error);

  // Parses the next frame as `message`. kError also covers a body that is
  // not a valid `message`.
  Outcome NextMessage(google::protobuf::MessageLite* message, Status* error);

  // Bytes received but not yet returned as frames.
  size_t buffered() const { return filled_ - consumed_; }

  // Frees the buffer if it holds nothing and more than `keep` bytes are
  // allocated (a large frame came and went), so an idle connection does
  // not keep its largest frame's worth.
  void ReleaseIfEmpty(size_t keep);
  // Drops whatever is buffered and frees the buffer (the stream ended).
  void Clear();

 private:
  void Compact();
  void Grow(size_t min_capacity);

  const size_t max_frame_bytes_;
  // Not a std::string: resizing one zero-fills the new room, a memset of
  // every payload byte just before the socket overwrites it.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;  // bytes allocated at buffer_
  size_t consumed_ = 0;  // bytes at the front of buffer_ already returned
  size_t filled_ = 0;    // bytes of buffer_ holding data (<= capacity_)
  size_t missing_ = 0;   // bytes the frame under way still lacks (0: unknown)
};

}  // namespace taskpool::wire
