// Files the daemon keeps in directories other users may be able to write
// (a socket's directory, /tmp): lock files, and the check that a path we
// are about to remove is what we think it is.
//
// A user who can write the directory can put a symlink, a hard link, a
// FIFO or a file of theirs where we expect our own. These helpers never
// follow a symlink at the last component, never truncate what they open,
// and refuse anything that is not a regular file of our own effective uid
// with exactly one name, naming the path and what is wrong with it.
//
// Thread-safety: plain functions.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::base {

// Opens (creating with `mode` if absent) the lock file `path` for reading
// and writing, with O_NOFOLLOW|O_CLOEXEC and without O_TRUNC: what it held
// is left for the caller to replace once it holds the lock. Fails if
// `path` is a symlink, is not a regular file, is owned by another uid or
// has more than one hard link.
Result<UniqueFd> OpenPrivateLockFile(const std::string& path, mode_t mode);

// What lstat(2) finds at `path`.
enum class PathKind { kAbsent, kSocket, kOther };
Result<PathKind> InspectPath(const std::string& path);

}  // namespace taskpool::base
