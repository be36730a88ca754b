// The one place that makes files in /dev/shm, the tmpfs that backs the
// queue's shared memory: anonymous files (no name to squat, nothing left
// behind), exclusive named ones (mode 0600, never following a link), the
// reservation of their pages, and random names nobody can guess.
//
// Why files on /dev/shm and not memfd_create: a memfd lives on the kernel's
// internal tmpfs, which has no size limit, so the limit an administrator
// (or `docker run --shm-size`) set on /dev/shm would not apply, statvfs
// could not say what is free, and an oversized reservation would end with
// the OOM killer instead of ENOSPC. An O_TMPFILE file in /dev/shm is as
// anonymous as a memfd and is charged to /dev/shm.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

inline constexpr char kShmDirectory[] = "/dev/shm";

// Bytes free in /dev/shm for an unprivileged writer; 0 if unknown.
uint64_t ShmFreeBytes();
// The size of /dev/shm; 0 if unknown.
uint64_t ShmSizeBytes();

// "12.5 MiB": sizes in messages.
std::string MebibytesText(uint64_t bytes);

// SHARED_MEMORY_FULL, saying what `what` needs and what is free, unless
// /dev/shm has room for `bytes` now (what a start would check).
Status CheckShmRoom(uint64_t bytes, const std::string& what);

// An unnamed file in /dev/shm, mode 0600, O_CLOEXEC, `bytes` long, of
// which the first `reserved_bytes` are reserved (ReserveShm) and the rest
// left for the caller to reserve before touching it. Refused
// (SHARED_MEMORY_FULL) unless /dev/shm has room for all `bytes` now.
// `what` names it in errors.
Result<base::UniqueFd> CreateAnonymousShm(uint64_t bytes, uint64_t reserved_bytes,
                                          const std::string& what);

// Creates /dev/shm/`name` (O_EXCL, O_NOFOLLOW, mode 0600, O_CLOEXEC).
// EEXIST is returned as the errno in `*error_number` (for a retry under
// another name) with an INTERNAL status.
Result<base::UniqueFd> CreateNamedShm(const std::string& name, int* error_number);


// Allocates `bytes` of the file from `offset` (posix_fallocate), so no
// later store into a mapping of them can fault for want of a page
// (SIGBUS). No room: SHARED_MEMORY_FULL saying what `what` needs and what
// is free.
Status ReserveShm(int fd, uint64_t offset, uint64_t bytes, const std::string& what);

// Writes `bytes` into the file `fd` (a blob) from its current offset with
// write(), which on tmpfs allocates each page as it fills it and fails
// with ENOSPC rather than fault: a blob is mapped only once whole, so it
// needs no posix_fallocate (which would zero every page write() then
// fills). `allocated`: bytes of the file that already have pages (a kept
// blob being rewritten), which need no room. No room: SHARED_MEMORY_FULL
// saying what `what` needs and what is free.
Status WriteShm(int fd, std::string_view bytes, const std::string& what,
                uint64_t allocated = 0);

// 128 random bits naming a file in /dev/shm; all zero means "none".
// Plain integers, so a slot in shared memory can hold one.
struct ShmId {
  uint64_t high = 0;
  uint64_t low = 0;
  bool empty() const { return high == 0 && low == 0; }
};

// From getrandom: nobody can predict it, so nobody can create that name
// before us (the names in /dev/shm are listable by every user).
ShmId RandomShmId();

// The id as 32 lowercase hex digits.
std::string HexOf(const ShmId& id);

// Whether `text` is 32 lowercase hex digits (a HexOf).
bool IsShmIdHex(std::string_view text);

// CreateNamedShm of `prefix` followed by 32 random hex digits (RandomShmId,
// stored in `*id`), under another name when that one exists: a collision
// of 128 random bits is someone squatting. Gives up after a few.
Result<base::UniqueFd> CreateRandomShm(const std::string& prefix, ShmId* id);

// "/dev/shm/" + name.
inline std::string ShmPath(const std::string& name) {
  return std::string(kShmDirectory) + "/" + name;
}

}  // namespace taskpool::shmq
