#include "daemon/serve/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/log.h"

namespace taskpool::daemon {

namespace {

std::string ReadOwnerPid(int fd) {
  char text[32] = {};
  const ssize_t length = pread(fd, text, sizeof text - 1, 0);
  std::string pid = length > 0 ? std::string(text, static_cast<size_t>(length)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

Result<std::unique_ptr<InstanceLock>> InstanceLock::Acquire(
    const std::string& socket_path, bool remove_stale_socket) {
  const std::string path = socket_path + ".lock";
  base::UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) {
    return ErrnoStatus("cannot create lock file " + path +
                           " (does the socket's directory exist and is it "
                           "writable?)",
                       errno);
  }
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
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) != 0 ||
      pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    TP_LOG(kWarning) << "could not write pid to " << path;
  }
  // We hold the lock, so whoever made a socket file here is gone.
  if (remove_stale_socket && unlink(socket_path.c_str()) == 0) {
    TP_LOG(kWarning) << "removed stale socket " << socket_path
                     << " left by a daemon that did not exit cleanly";
  }
  return std::unique_ptr<InstanceLock>(new InstanceLock(path, std::move(fd)));
}

InstanceLock::~InstanceLock() {
  // Unlinked while still locked, so no second daemon can take the lock of
  // a file about to disappear; fd_ then closes and releases it.
  unlink(path_.c_str());
}

}  // namespace taskpool::daemon
