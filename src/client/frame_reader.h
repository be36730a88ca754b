// The receiving half of a connection to taskpoold: bytes from the socket
// into whole ServerMessage frames, reading only when no whole frame is
// buffered, and reading in one of three ways: blocking, until a deadline,
// or spinning for a while without sleeping (see spin_wait.h).
//
// Thread-safety: none. A connection lets one thread at a time hold its read
// role, and only that thread uses the reader; passing the role under the
// connection's mutex orders one holder's use before the next one's.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "taskpool/v1/taskpool.pb.h"
#include "wire/framing.h"

namespace taskpool::client {

class FrameReader {
 public:
  using Clock = std::chrono::steady_clock;

  // `fd` stays owned by the caller and outlives the reader.
  FrameReader(int fd, size_t max_frame_bytes);

  enum class Outcome {
    kMessage,  // *message holds the next frame (TakeBuffered)
    kNone,     // no whole frame buffered (TakeBuffered)
    kRead,     // more bytes arrived (ReadMore)
    kTimeout,  // nothing arrived before the deadline (ReadMore)
    kClosed,   // end of stream, a read error or a bad frame; *why says which
  };

  // The next whole frame already received, without a system call: kMessage,
  // kNone, or kClosed for a frame that does not parse (the stream cannot be
  // resynchronised after it).
  Outcome TakeBuffered(v1::ServerMessage* message, std::string* why);

  // Reads what the socket has, sleeping until something arrives or
  // `deadline` passes (without one, until something arrives; a deadline
  // already past only looks): kRead, kTimeout or kClosed.
  Outcome ReadMore(std::optional<Clock::time_point> deadline, std::string* why);

  // As ReadMore, but polls without sleeping for at most `spin`: kRead,
  // kTimeout (nothing came while spinning) or kClosed.
  Outcome SpinFor(std::chrono::nanoseconds spin, std::string* why);

 private:
  // One recv(); `flags` adds MSG_DONTWAIT when it must not block.
  Outcome Receive(int flags, std::string* why);

  const int fd_;
  wire::FrameDecoder decoder_;
};

}  // namespace taskpool::client
