#include "client/frame_reader.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace taskpool::client {

namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;

}  // namespace

FrameReader::FrameReader(int fd, size_t max_frame_bytes)
    : fd_(fd), decoder_(max_frame_bytes) {}

FrameReader::Outcome FrameReader::TakeBuffered(v1::ServerMessage* message,
                                               std::string* why) {
  Status error;
  switch (decoder_.NextMessage(message, &error)) {
    case wire::FrameDecoder::Outcome::kFrame:
      return Outcome::kMessage;
    case wire::FrameDecoder::Outcome::kNeedMore:
      return Outcome::kNone;
    case wire::FrameDecoder::Outcome::kError:
      break;
  }
  *why = "bad frame from taskpoold: " + error.ToString();
  return Outcome::kClosed;
}

FrameReader::Outcome FrameReader::ReadMore(
    std::optional<Clock::time_point> deadline, std::string* why) {
  if (!deadline) return Receive(0, why);
  for (;;) {
    // Look before sleeping: a deadline already past still takes what is
    // there.
    const Outcome looked = Receive(MSG_DONTWAIT, why);
    if (looked != Outcome::kTimeout) return looked;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
    if (left.count() <= 0) return Outcome::kTimeout;
    pollfd readable{fd_, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(left.count())) < 0 &&
        errno != EINTR) {
      *why = std::string("waiting for taskpoold: poll: ") + std::strerror(errno);
      return Outcome::kClosed;
    }
  }
}

FrameReader::Outcome FrameReader::SpinFor(std::chrono::nanoseconds spin,
                                          std::string* why) {
  const Clock::time_point until = Clock::now() + spin;
  do {
    const Outcome looked = Receive(MSG_DONTWAIT, why);
    if (looked != Outcome::kTimeout) return looked;
  } while (Clock::now() < until);
  return Outcome::kTimeout;
}

FrameReader::Outcome FrameReader::Receive(int flags, std::string* why) {
  // The rest of a large result in one read, not in 64 KiB pieces.
  const size_t size = decoder_.ReadSize(kReadChunkBytes);
  for (;;) {
    const ssize_t n = ::recv(fd_, decoder_.PrepareAppend(size), size, flags);
    if (n > 0) {
      decoder_.Commit(static_cast<size_t>(n));
      return Outcome::kRead;
    }
    if (n == 0) {
      *why = "taskpoold closed the connection";
      return Outcome::kClosed;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::kTimeout;
    *why = std::string("reading from taskpoold: ") + std::strerror(errno);
    return Outcome::kClosed;
  }
}

}  // namespace taskpool::client
