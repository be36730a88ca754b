#include "tests/integration/raw_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "base/descriptor_passing.h"

namespace taskpool::testing {

RawConnection::RawConnection(const std::string& socket_path) : decoder_(64 << 20) {
  fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address {};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
}

RawConnection::~RawConnection() = default;

void RawConnection::SendBytes(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (written <= 0) return;  // the daemon may already have closed
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

void RawConnection::Send(const v1::ClientMessage& message) {
  std::string frame;
  wire::AppendFrame(message, &frame);
  SendBytes(frame);
}

void RawConnection::SendWithDescriptor(const v1::ClientMessage& message, int fd) {
  std::string frame;
  wire::AppendFrame(message, &frame);
  const ssize_t sent = base::SendWithDescriptor(fd_.get(), frame, fd);
  ASSERT_GT(sent, 0) << std::strerror(errno);
  SendBytes(std::string_view(frame).substr(static_cast<size_t>(sent)));
}

void RawConnection::SendHello(uint32_t version) {
  v1::ClientMessage hello;
  hello.mutable_hello()->set_protocol_version(version);
  hello.mutable_hello()->set_client_name("raw-test-client");
  Send(hello);
}

bool RawConnection::Greet() {
  SendHello();
  auto reply = Receive();
  return reply.has_value() && reply->has_hello();
}

void RawConnection::Submit(uint64_t id, const std::string& function,
                           const std::string& payload) {
  v1::ClientMessage submit;
  submit.mutable_submit()->set_id(id);
  submit.mutable_submit()->set_function(function);
  submit.mutable_submit()->set_payload(payload);
  Send(submit);
}

std::optional<v1::ServerMessage> RawConnection::Receive(int timeout_ms) {
  for (;;) {
    v1::ServerMessage message;
    Status error;
    if (decoder_.NextMessage(&message, &error) == wire::FrameDecoder::Outcome::kFrame) {
      return message;
    }
    pollfd ready{fd_.get(), POLLIN, 0};
    if (poll(&ready, 1, timeout_ms) <= 0) return std::nullopt;
    char* area = decoder_.PrepareAppend(65536);
    const ssize_t n = recv(fd_.get(), area, 65536, 0);
    if (n <= 0) return std::nullopt;
    decoder_.Commit(static_cast<size_t>(n));
  }
}

bool RawConnection::ClosedByDaemon(int timeout_ms) {
  pollfd ready{fd_.get(), POLLIN, 0};
  while (poll(&ready, 1, timeout_ms) > 0) {
    char buffer[4096];
    const ssize_t n = recv(fd_.get(), buffer, sizeof buffer, 0);
    if (n <= 0) return true;
  }
  return false;
}

void RawConnection::Shutdown() { shutdown(fd_.get(), SHUT_RDWR); }

}  // namespace taskpool::testing
