// One daemon per socket. The lock is an flock(2) on "<socket>.lock" holding
// the owner's pid: the kernel drops it when the owner dies, however it
// dies, so a lock we can take means any socket file left beside it is
// stale and safe to remove.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

class InstanceLock {
 public:
  // Takes the lock for `socket_path` and, if `remove_stale_socket`,
  // removes a stale socket file (not when systemd owns the socket).
  // Fails with a message naming the running daemon's pid if another
  // taskpoold holds it.
  static Result<std::unique_ptr<InstanceLock>> Acquire(const std::string& socket_path,
                                                       bool remove_stale_socket = true);

  // Removes the lock file and releases the lock.
  ~InstanceLock();

  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  InstanceLock(std::string path, base::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  base::UniqueFd fd_;  // holds the flock
};

}  // namespace taskpool::daemon
