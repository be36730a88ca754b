#include "daemon/serve/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/log.h"
#include "base/private_file.h"

namespace taskpool::daemon {

namespace {

std::string ReadOwnerPid(int fd) {
  char text[32] = {};
  const ssize_t length = pread(fd, text, sizeof text - 1, 0);
  std::string pid = length > 0 ? std::string(text, static_cast<size_t>(length)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

// Fails, naming `socket_path`, when something other than a socket is there.
Status RefuseNonSocket(const std::string& socket_path) {
  Result<base::PathKind> kind = base::InspectPath(socket_path);
  if (!kind.ok()) return kind.status();
  if (*kind != base::PathKind::kOther) return Status::Ok();
  return Status(ErrorCode::kInternal, socket_path +
                                          " exists and is not a socket; refusing to remove it "
                                          "(check --socket, or move that file away)");
}

}  // namespace

Result<std::unique_ptr<InstanceLock>> InstanceLock::Acquire(
    const std::string& socket_path, bool remove_stale_socket) {
  // Before anything is created: a typo such as --socket /etc/taskpool/
  // taskpoold.conf must not cost that file.
  if (remove_stale_socket) {
    if (Status refused = RefuseNonSocket(socket_path); !refused.ok()) return refused;
  }
  const std::string path = socket_path + ".lock";
  Result<base::UniqueFd> opened = base::OpenPrivateLockFile(path, 0644);
  if (!opened.ok()) return opened.status();
  base::UniqueFd fd = std::move(opened).value();
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int flock_errno = errno;
    const std::string owner = ReadOwnerPid(fd.get());
    if (flock_errno == EWOULDBLOCK) {
      return Status(ErrorCode::kInternal,
                    "another taskpoold (pid " + owner +
                        ") is already serving " + socket_path +
                        "; stop it first or choose another --socket");
    }
    return ErrnoStatus("flock " + path, flock_errno);
  }
  // Only now that it is ours: the running daemon's pid stays readable to
  // a second one that is refused.
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) != 0 ||
      pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    TP_LOG(kWarning) << "could not write pid to " << path;
  }
  if (remove_stale_socket) {
    // Looked at again under the lock: what was a socket a moment ago may
    // have been replaced by a user who can write the directory.
    if (Status refused = RefuseNonSocket(socket_path); !refused.ok()) return refused;
    // We hold the lock, so whoever made a socket file here is gone.
    if (unlink(socket_path.c_str()) == 0) {
      TP_LOG(kWarning) << "removed stale socket " << socket_path
                       << " left by a daemon that did not exit cleanly";
    }
  }
  return std::unique_ptr<InstanceLock>(new InstanceLock(path, std::move(fd)));
}

InstanceLock::~InstanceLock() {
  // Unlinked while still locked, so no second daemon can take the lock of
  // a file about to disappear; fd_ then closes and releases it.
  unlink(path_.c_str());
}

}  // namespace taskpool::daemon
