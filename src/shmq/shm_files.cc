#include "shmq/shm_files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace taskpool::shmq {

uint64_t ShmFreeBytes() {
  struct statvfs fs {};
  if (statvfs(kShmDirectory, &fs) != 0) return 0;
  return uint64_t{fs.f_bavail} * fs.f_frsize;
}

uint64_t ShmSizeBytes() {
  struct statvfs fs {};
  if (statvfs(kShmDirectory, &fs) != 0) return 0;
  return uint64_t{fs.f_blocks} * fs.f_frsize;
}

std::string MebibytesText(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

namespace {

Status NoRoom(uint64_t bytes, uint64_t free_bytes, const std::string& what) {
  return Status(ErrorCode::kSharedMemoryFull,
                what + " needs " + MebibytesText(bytes) + " (" + std::to_string(bytes) +
                    " bytes) of shared memory but " + kShmDirectory + " has " +
                    MebibytesText(free_bytes) + " free");
}

// Whether the file system `fs` describes has room for `bytes`.
Status RoomIn(const struct statvfs& fs, uint64_t bytes, const std::string& what) {
  const uint64_t free_bytes = uint64_t{fs.f_bavail} * fs.f_frsize;
  if (bytes > free_bytes) return NoRoom(bytes, free_bytes, what);
  return Status::Ok();
}

// Refused before a page is taken: tmpfs would allocate up to the limit
// and only then give up, pressing the whole machine for memory first.
// A file system that cannot say is not refused.
Status CheckRoom(int fd, uint64_t bytes, const std::string& what) {
  struct statvfs fs {};
  return fstatvfs(fd, &fs) == 0 ? RoomIn(fs, bytes, what) : Status::Ok();
}

}  // namespace

Status CheckShmRoom(uint64_t bytes, const std::string& what) {
  struct statvfs fs {};
  return statvfs(kShmDirectory, &fs) == 0 ? RoomIn(fs, bytes, what) : Status::Ok();
}

Result<base::UniqueFd> CreateAnonymousShm(uint64_t bytes, uint64_t reserved_bytes,
                                          const std::string& what) {
  base::UniqueFd fd(open(kShmDirectory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) {
    return ErrnoStatus(std::string("create ") + what + " in " + kShmDirectory +
                           " (O_TMPFILE)",
                       errno);
  }
  if (Status room = CheckRoom(fd.get(), bytes, what); !room.ok()) return room;
  if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    return ErrnoStatus("size " + what + " to " + std::to_string(bytes) + " bytes", errno);
  }
  if (Status reserved = ReserveShm(fd.get(), 0, std::min(bytes, reserved_bytes), what);
      !reserved.ok()) {
    return reserved;
  }
  return fd;
}

Result<base::UniqueFd> CreateNamedShm(const std::string& name, int* error_number) {
  // O_EXCL with O_CREAT never follows a link; O_NOFOLLOW says so anyway.
  base::UniqueFd fd(open(ShmPath(name).c_str(),
                         O_CREAT | O_EXCL | O_NOFOLLOW | O_RDWR | O_CLOEXEC, 0600));
  *error_number = fd ? 0 : errno;
  if (!fd) return ErrnoStatus("create " + ShmPath(name), *error_number);
  return fd;
}

Result<base::UniqueFd> CreateRandomShm(const std::string& prefix, ShmId* id) {
  for (int attempt = 0;; ++attempt) {
    *id = RandomShmId();
    int error = 0;
    Result<base::UniqueFd> fd = CreateNamedShm(prefix + HexOf(*id), &error);
    if (fd.ok() || error != EEXIST || attempt == 3) return fd;
  }
}


Status ReserveShm(int fd, uint64_t offset, uint64_t bytes, const std::string& what) {
  if (bytes == 0) return Status::Ok();
  if (Status room = CheckRoom(fd, bytes, what); !room.ok()) return room;
  int error = 0;
  do {
    error = posix_fallocate(fd, static_cast<off_t>(offset), static_cast<off_t>(bytes));
  } while (error == EINTR);
  if (error == 0) return Status::Ok();
  if (error == ENOSPC || error == ENOMEM || error == EFBIG) {
    return NoRoom(bytes, ShmFreeBytes(), what);
  }
  return ErrnoStatus("reserve " + std::to_string(bytes) + " bytes for " + what, error);
}

Status WriteShm(int fd, std::string_view bytes, const std::string& what, uint64_t allocated) {
  if (bytes.size() > allocated) {
    if (Status room = CheckRoom(fd, bytes.size() - allocated, what); !room.ok()) return room;
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ENOSPC) return ErrnoStatus("write " + what, errno);
    if (n <= 0) return NoRoom(bytes.size(), ShmFreeBytes(), what);
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

ShmId RandomShmId() {
  ShmId id;
  uint64_t words[2] = {0, 0};
  size_t filled = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(words);
  while (filled < sizeof words) {
    const ssize_t n = getrandom(bytes + filled, sizeof words - filled, 0);
    if (n > 0) {
      filled += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // Only a kernel older than 3.17 (ENOSYS) gets here; a guessable name
      // would defeat the point, so there is no fallback.
      std::perror("getrandom for a shared-memory name");
      std::abort();
    }
  }
  id.high = words[0];
  id.low = words[1];
  // All zero means "none"; 2^-128 away, but keep the meaning exact.
  if (id.empty()) id.low = 1;
  return id;
}

std::string HexOf(const ShmId& id) {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx",
                static_cast<unsigned long long>(id.high),
                static_cast<unsigned long long>(id.low));
  return text;
}

bool IsShmIdHex(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace taskpool::shmq
