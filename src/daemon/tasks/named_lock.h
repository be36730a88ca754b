// Named locks among the workers of one daemon, for Context::lock() in
// plugin code: one flock(2)'d file per name in a directory beside the
// socket. The kernel releases an flock when the last descriptor of its open
// file closes, so a worker that dies holding a lock (SIGKILL, segfault, OOM)
// releases it with no help from anyone, and no shared-memory state can be
// left poisoned.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// The directory "<socket>.locks", owned by the supervisor: created empty at
// start (whatever a crashed daemon left there is removed; the instance lock
// says it is ours) and removed with everything in it when destroyed.
// Workers are forked with it existing and never remove it (they _exit).
class NamedLockDirectory {
 public:
  // Where Create puts the directory for `socket_path`.
  static std::string PathFor(const std::string& socket_path) { return socket_path + ".locks"; }

  // REQUIRES: the caller holds the InstanceLock for `socket_path`.
  static Result<std::unique_ptr<NamedLockDirectory>> Create(
      const std::string& socket_path);
  ~NamedLockDirectory();

  NamedLockDirectory(const NamedLockDirectory&) = delete;
  NamedLockDirectory& operator=(const NamedLockDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  explicit NamedLockDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// One held named lock; closing its descriptor (when this is destroyed)
// releases it. Move-only.
class HeldNamedLock {
 public:
  explicit HeldNamedLock(base::UniqueFd fd) : fd_(std::move(fd)) {}

 private:
  base::UniqueFd fd_;
};

// Takes the lock `name` (any bytes) in `directory`: the file is named by
// the name's SHA-256, so every name is a safe, distinct file name. Waits at
// most `timeout`; a negative timeout waits for as long as it takes, zero
// tries once. Errors: WAIT_TIMEOUT when the wait ran out, INTERNAL naming
// the file when it cannot be opened or locked.
// Not recursive: a second lock of a name this process holds waits for
// itself; callers keep track (the plugin host refuses it).
Result<HeldNamedLock> AcquireNamedLock(const std::string& directory,
                                       std::string_view name,
                                       std::chrono::milliseconds timeout);

}  // namespace taskpool::daemon
