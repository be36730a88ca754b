// libsystemd, loaded only when systemd started the daemon.
//
// The daemon needs four functions of it (sd_notify, sd_watchdog_enabled,
// sd_listen_fds, sd_is_socket_unix) and only under systemd ($NOTIFY_SOCKET,
// $LISTEN_FDS). Linked, libsystemd and the libraries it pulls in (libgcrypt,
// liblz4, libzstd, liblzma, libcap) cost every supervisor about 0.9 MiB of
// RSS at start; loaded on demand (lazy_library.h), only a supervisor that
// talks to systemd pays.
//
// Thread-safety: as base::LazyLibrary.
#pragma once

#include "base/lazy_library.h"

namespace taskpool::daemon {

base::LazyLibrary& Libsystemd();

}  // namespace taskpool::daemon
