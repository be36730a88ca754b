#include "client/handshake.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "base/clock.h"
#include "base/descriptor_passing.h"
#include "base/unique_fd.h"
#include "client/wire_convert.h"
#include "wire/framing.h"
#include "wire/error_code.h"

namespace taskpool::client {

namespace {

using boost::asio::local::stream_protocol;
using Clock = base::SteadyClock;

// A hello reply is tiny; anything bigger is not a taskpoold talking.
constexpr size_t kMaxHelloFrameBytes = 64 * 1024;
constexpr std::chrono::milliseconds kConnectRetryInterval{10};

Status DaemonNotRunning(const std::string& path, const std::string& why) {
  return Status(ErrorCode::kDaemonNotRunning,
                "no taskpoold is listening on " + path + " (connect: " + why +
                    "); start taskpoold or set --socket / TASKPOOL_SOCKET");
}

Status ConnectFd(int fd, const std::string& path, Clock::time_point deadline) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  for (;;) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                  sizeof(address)) == 0) {
      return Status::Ok();
    }
    const int error = errno;
    if (error == EINTR) continue;
    // A Unix socket says EAGAIN, not EINPROGRESS, when the daemon's listen
    // backlog is full: it is alive but not accepting yet.
    if (error == EAGAIN && Clock::now() < deadline) {
      std::this_thread::sleep_for(kConnectRetryInterval);
      continue;
    }
    if (error == EAGAIN) {
      return Status(ErrorCode::kWaitTimeout,
                    "taskpoold at " + path + " accepted no connection in time");
    }
    if (error == ENOENT || error == ECONNREFUSED) {
      return DaemonNotRunning(path, std::strerror(error));
    }
    return ErrnoStatus("connect to " + path, error, ErrorCode::kConnectionLost);
  }
}

// The socket is made here rather than by Asio for two reasons: SOCK_CLOEXEC,
// so a child the client program execs does not keep the connection open;
// and a non-blocking connect, because a blocking one to a daemon whose
// backlog is full would wait without limit.
Status Connect(const std::string& path, Clock::time_point deadline,
               stream_protocol::socket* socket) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return DaemonNotRunning(path, "socket path too long");
  }
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return ErrnoStatus("socket", errno, ErrorCode::kConnectionLost);
  }
  if (Status status = ConnectFd(fd.get(), path, deadline); !status.ok()) return status;
  // From here on the client reads and writes with blocking calls.
  if (::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK) != 0) {
    return ErrnoStatus("fcntl", errno, ErrorCode::kConnectionLost);
  }
  boost::system::error_code ec;
  socket->assign(stream_protocol(), fd.get(), ec);
  if (ec) return Status(ErrorCode::kConnectionLost, "socket: " + ec.message());
  (void)fd.release();  // the socket owns it now
  return Status::Ok();
}

// With `arena`, its descriptor travels with the frame's first bytes.
Status SendHello(const std::string& client_name, const ClientArena* arena,
                 stream_protocol::socket* socket) {
  v1::ClientMessage message;
  message.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_CURRENT);
  message.mutable_hello()->set_client_name(client_name);
  if (arena != nullptr) message.mutable_hello()->set_payload_arena_bytes(arena->bytes());
  std::string frame;
  wire::AppendFrame(message, &frame);
  std::string_view unsent = frame;
  if (arena != nullptr) {
    ssize_t sent = -1;
    do {
      sent = base::SendWithDescriptor(socket->native_handle(), unsent, arena->fd());
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      return ErrnoStatus("sending hello to taskpoold", errno, ErrorCode::kConnectionLost);
    }
    unsent.remove_prefix(static_cast<size_t>(sent));
  }
  boost::system::error_code ec;
  boost::asio::write(*socket, boost::asio::buffer(unsent.data(), unsent.size()), ec);
  if (ec) {
    return Status(ErrorCode::kConnectionLost,
                  "sending hello to taskpoold: " + ec.message());
  }
  return Status::Ok();
}

// Reads one ServerMessage, polling so the wait honours `deadline`.
Result<v1::ServerMessage> ReadReply(stream_protocol::socket* socket,
                                    Clock::time_point deadline) {
  wire::FrameDecoder decoder(kMaxHelloFrameBytes);
  v1::ServerMessage reply;
  for (;;) {
    Status error;
    switch (decoder.NextMessage(&reply, &error)) {
      case wire::FrameDecoder::Outcome::kFrame:
        return reply;
      case wire::FrameDecoder::Outcome::kError:
        return Status(ErrorCode::kConnectionLost,
                      "bad hello reply from taskpoold: " + error.ToString());
      case wire::FrameDecoder::Outcome::kNeedMore:
        break;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{socket->native_handle(), POLLIN, 0};
    const int ready =
        left.count() > 0 ? ::poll(&pfd, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0)
      return ErrnoStatus("poll", errno, ErrorCode::kConnectionLost);
    if (ready == 0) {
      return Status(ErrorCode::kWaitTimeout,
                    "taskpoold did not answer hello in time");
    }
    boost::system::error_code ec;
    const size_t n = socket->read_some(
        boost::asio::buffer(decoder.PrepareAppend(4096), 4096), ec);
    if (ec == boost::asio::error::eof) {
      return Status(ErrorCode::kConnectionLost,
                    "taskpoold closed the connection during hello");
    }
    if (ec) {
      return Status(ErrorCode::kConnectionLost,
                    "reading hello reply: " + ec.message());
    }
    decoder.Commit(n);
  }
}

}  // namespace

Result<Handshake> OpenAndGreet(const std::string& socket_path,
                               const std::string& client_name,
                               std::chrono::milliseconds timeout, uint64_t arena_bytes) {
  const Clock::time_point deadline = Clock::now() + timeout;
  Handshake handshake;
  handshake.io = std::make_unique<boost::asio::io_context>();
  handshake.socket = std::make_unique<stream_protocol::socket>(*handshake.io);
  if (Status s = Connect(socket_path, deadline, handshake.socket.get());
      !s.ok()) {
    return s;
  }
  // A daemon that refuses us (PERMISSION_DENIED, TOO_MANY_CONNECTIONS)
  // sends its reason and closes at once, possibly before our hello is
  // written: a failed write must not hide the reason, so read it anyway.
  std::unique_ptr<ClientArena> arena;
  if (arena_bytes != 0) {
    Result<std::unique_ptr<ClientArena>> created = ClientArena::Create(arena_bytes);
    if (created.ok()) arena = std::move(created).value();
  }
  const Status sent = SendHello(client_name, arena.get(), handshake.socket.get());
  Result<v1::ServerMessage> reply = ReadReply(handshake.socket.get(), deadline);
  if (!sent.ok() && !(reply.ok() && reply->has_error())) return sent;
  if (!reply.ok()) return reply.status();
  if (reply->has_error()) {
    // VERSION_MISMATCH (or TOO_MANY_CONNECTIONS...) is passed on as is: the
    // daemon's message names both versions.
    const ErrorCode code = wire::FromWireCode(reply->error().code());
    return Status(code, reply->error().message());
  }
  if (!reply->has_hello()) {
    return Status(ErrorCode::kConnectionLost,
                  "taskpoold answered hello with an unexpected message");
  }
  handshake.hello = reply->hello();
  if (handshake.hello.payload_arena_accepted()) handshake.arena = std::move(arena);
  return handshake;
}

}  // namespace taskpool::client
