// systemd socket activation: the listening socket systemd passed us
// ($LISTEN_FDS / $LISTEN_PID, fds from SD_LISTEN_FDS_START on).
#pragma once

#include <string>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

struct ActivatedSocket {
  int fd = -1;       // -1: not socket-activated
  std::string path;  // the socket's file, from getsockname
};

// Takes the one listening Unix stream socket systemd passed, marks it
// close-on-exec and clears $LISTEN_* so children never see them. Returns
// fd -1 when the daemon was not socket-activated, an error when systemd
// passed something we cannot serve (several fds, or not a Unix stream
// listening socket).
Result<ActivatedSocket> TakeActivatedSocket();

}  // namespace taskpool::daemon
