#include "daemon/systemd/socket_activation.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "daemon/systemd/libsystemd.h"

namespace taskpool::daemon {

Result<ActivatedSocket> TakeActivatedSocket() {
  if (std::getenv("LISTEN_FDS") == nullptr) {
    // Not socket-activated: nothing to take, and no reason to load
    // libsystemd (libsystemd.h). Cleared as sd_listen_fds(1) would.
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    return ActivatedSocket{};
  }
  Result<decltype(&sd_listen_fds)> listen_fds =
      Libsystemd().Function<decltype(&sd_listen_fds)>("sd_listen_fds");
  if (!listen_fds.ok()) return listen_fds.status();
  Result<decltype(&sd_is_socket_unix)> is_socket_unix =
      Libsystemd().Function<decltype(&sd_is_socket_unix)>("sd_is_socket_unix");
  if (!is_socket_unix.ok()) return is_socket_unix.status();
  // unset_environment = 1: workers and anything they run must not think
  // they were activated too.
  const int count = (*listen_fds)(1);
  if (count < 0) return ErrnoStatus("sd_listen_fds", -count);
  if (count == 0) return ActivatedSocket{};
  if (count > 1) {
    return Status(ErrorCode::kInternal,
                  "systemd passed " + std::to_string(count) +
                      " sockets (LISTEN_FDS); taskpoold serves exactly one: "
                      "give taskpoold.socket a single ListenStream=");
  }
  const int fd = SD_LISTEN_FDS_START;
  if ((*is_socket_unix)(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
    return Status(ErrorCode::kInternal,
                  "the socket systemd passed (fd 3) is not a listening Unix "
                  "stream socket; use ListenStream=/path in taskpoold.socket");
  }
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return ErrnoStatus("fcntl FD_CLOEXEC", errno);
  sockaddr_un address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return ErrnoStatus("getsockname on the activated socket", errno);
  }
  ActivatedSocket socket;
  socket.fd = fd;
  // Abstract or unnamed sockets have no path; both keep it empty.
  if (length > offsetof(sockaddr_un, sun_path) && address.sun_path[0] != '\0') {
    socket.path.assign(address.sun_path,
                       strnlen(address.sun_path, length - offsetof(sockaddr_un, sun_path)));
  }
  return socket;
}

}  // namespace taskpool::daemon
