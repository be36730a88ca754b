#include "daemon/tasks/named_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/private_file.h"
#include "daemon/tasks/sha256.h"

namespace taskpool::daemon {

Result<std::unique_ptr<NamedLockDirectory>> NamedLockDirectory::Create(
    const std::string& socket_path) {
  const std::string path = PathFor(socket_path);
  std::error_code error;
  // We hold the instance lock, so anything here is a dead daemon's.
  if (std::filesystem::remove_all(path, error) > 0 && !error) {
    TP_LOG(kWarning) << "removed stale lock directory " << path
                     << " left by a daemon that did not exit cleanly";
  }
  if (mkdir(path.c_str(), 0700) != 0) {
    return ErrnoStatus("cannot create the named-lock directory " + path,
                       errno);
  }
  return std::unique_ptr<NamedLockDirectory>(new NamedLockDirectory(path));
}

NamedLockDirectory::~NamedLockDirectory() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  if (error) {
    TP_LOG(kWarning) << "could not remove " << path_ << ": "
                     << error.message();
  }
}

namespace {

// flock() with a bounded wait. flock has no timeout of its own, so a
// bounded wait polls with a short, growing sleep; an unbounded one blocks
// in the kernel.
int LockWithin(int fd, std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) {
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return errno;
    }
    return 0;
  }
  const base::SteadyTime deadline = base::SteadyClock::now() + timeout;
  std::chrono::milliseconds pause(1);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return errno;
    const base::SteadyTime now = base::SteadyClock::now();
    if (now >= deadline) return EWOULDBLOCK;
    std::this_thread::sleep_for(std::min<base::SteadyClock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<HeldNamedLock> AcquireNamedLock(const std::string& directory,
                                       std::string_view name,
                                       std::chrono::milliseconds timeout) {
  const Result<std::string> hash = Sha256Hex(name);
  if (!hash.ok()) {
    return Status(ErrorCode::kInternal, "lock '" + std::string(name) +
                                            "': cannot hash its name: " +
                                            hash.status().message());
  }
  const std::string path = directory + "/" + hash.value() + ".lock";
  // The directory is ours (0700), but a lock file is a lock file: never
  // follow a link or take another user's file for one.
  Result<base::UniqueFd> opened = base::OpenPrivateLockFile(path, 0600);
  if (!opened.ok()) {
    return Status(opened.status().code(),
                  "lock '" + std::string(name) + "': " + opened.status().message());
  }
  base::UniqueFd fd = std::move(opened).value();
  const int error = LockWithin(fd.get(), timeout);
  if (error == EWOULDBLOCK) {
    return Status(ErrorCode::kWaitTimeout,
                  "lock '" + std::string(name) + "' is held by another task");
  }
  if (error != 0) {
    return ErrnoStatus("lock '" + std::string(name) + "': flock " + path,
                       error);
  }
  return HeldNamedLock(std::move(fd));
}

}  // namespace taskpool::daemon
