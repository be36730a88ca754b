#include "base/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace taskpool::base {

namespace {

// Why `st` is not a file we may use as our own lock, or "" if it is.
std::string WhyNotOurs(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (st.st_uid != geteuid()) {
    return "is owned by uid " + std::to_string(st.st_uid) + ", not by the daemon's uid " +
           std::to_string(geteuid());
  }
  if (st.st_nlink != 1) return "has " + std::to_string(st.st_nlink) + " hard links";
  return "";
}

}  // namespace

Result<UniqueFd> OpenPrivateLockFile(const std::string& path, mode_t mode) {
  // O_NONBLOCK: opening a FIFO planted here must not hang the daemon; it
  // is refused below as not a regular file.
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode));
  if (!fd) {
    if (errno == ELOOP) {
      return Status(ErrorCode::kInternal, "lock file " + path +
                                              " is a symbolic link; refusing to follow it "
                                              "(remove it, or choose another --socket)");
    }
    return ErrnoStatus("cannot open lock file " + path +
                           " (does its directory exist and is it writable?)",
                       errno);
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat " + path, errno);
  if (const std::string why = WhyNotOurs(st); !why.empty()) {
    return Status(ErrorCode::kInternal, "lock file " + path + " " + why +
                                            "; refusing to use it (remove it, or choose "
                                            "another --socket in a directory only the "
                                            "daemon's user can write)");
  }
  // Back to blocking for the callers' flock and pwrite.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

Result<PathKind> InspectPath(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return PathKind::kAbsent;
    return ErrnoStatus("lstat " + path, errno);
  }
  return S_ISSOCK(st.st_mode) ? PathKind::kSocket : PathKind::kOther;
}

}  // namespace taskpool::base
