// A client that speaks raw protocol bytes, to send what the library never
// would and to watch exactly what the daemon answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "wire/framing.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::testing {

class RawConnection {
 public:
  explicit RawConnection(const std::string& socket_path);
  ~RawConnection();

  void SendBytes(std::string_view bytes);
  void Send(const v1::ClientMessage& message);
  // Sends `message` with descriptor `fd` attached (SCM_RIGHTS), as a hello
  // with a payload arena travels.
  void SendWithDescriptor(const v1::ClientMessage& message, int fd);
  void SendHello(uint32_t version = 1);
  // Sends hello and consumes the reply; false if there was none.
  bool Greet();
  void Submit(uint64_t id, const std::string& function, const std::string& payload);

  // The next message, or nullopt on close/timeout.
  std::optional<v1::ServerMessage> Receive(int timeout_ms = 5000);
  // True if the daemon closed the connection within the timeout.
  bool ClosedByDaemon(int timeout_ms = 5000);

  // Shuts the socket down both ways, which also ends a send another thread
  // is blocked in (the daemon stopped reading); the daemon sees it close.
  void Shutdown();

 private:
  base::UniqueFd fd_;
  wire::FrameDecoder decoder_;
};

}  // namespace taskpool::testing
