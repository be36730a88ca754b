// Sending and receiving a file descriptor with the bytes of a Unix stream
// socket (SCM_RIGHTS ancillary data), which Asio has no call for. The
// client sends its payload arena this way with its hello; the daemon
// receives it.
//
// Thread-safety: plain functions over the caller's socket.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/unique_fd.h"

namespace taskpool::base {

// Sends up to bytes.size() of `bytes` with `fd` attached to the first, as
// sendmsg does (one call; it may send fewer bytes, like send). -1 and errno
// on failure.
ssize_t SendWithDescriptor(int socket, std::string_view bytes, int fd);

// Receives up to `size` bytes into `buffer` without blocking (MSG_DONTWAIT),
// as recv does. A descriptor that came with them is put in `*fd` (close on
// exec) if `*fd` holds none yet; any other is closed at once, so a peer
// cannot make the caller hold descriptors it did not ask for. -1 and errno
// on failure (EAGAIN: nothing to read yet).
ssize_t ReceiveWithDescriptor(int socket, char* buffer, size_t size, UniqueFd* fd);

// This process's descriptor limit (RLIMIT_NOFILE's soft value): what a
// holder of passed descriptors counts them against. UINT64_MAX when
// unlimited, 0 if it cannot be read.
uint64_t DescriptorLimit();

}  // namespace taskpool::base
