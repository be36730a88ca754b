#include "daemon/route/payload_arena.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "base/descriptor_passing.h"

namespace taskpool::daemon {

namespace {
constexpr int kRequiredSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
// Arenas held, against the descriptor limit. Only the event loop's thread
// makes and drops them, but an atomic costs nothing here.
std::atomic<uint64_t> live_arenas{0};
}  // namespace

PayloadArena::PayloadArena(base::UniqueFd fd, uint64_t inode, uint64_t bytes)
    : fd_(std::move(fd)), inode_(inode), bytes_(bytes) {
  ++live_arenas;
}

PayloadArena::~PayloadArena() { --live_arenas; }

bool PayloadArena::HaveRoomForAnother() {
  return live_arenas.load() < base::DescriptorLimit() / 4;
}

Result<std::shared_ptr<const PayloadArena>> PayloadArena::Accept(base::UniqueFd fd,
                                                                 uint64_t declared_bytes) {
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("stat the payload arena", errno);
  if (!S_ISREG(st.st_mode)) {
    return Status(ErrorCode::kInvalidArgument,
                  "the payload arena sent with the hello is not a file; send a memfd "
                  "(memfd_create with MFD_ALLOW_SEALING)");
  }
  if (static_cast<uint64_t>(st.st_size) != declared_bytes || declared_bytes == 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "the payload arena has " + std::to_string(st.st_size) +
                      " bytes but the hello says " + std::to_string(declared_bytes) +
                      " (Hello.payload_arena_bytes)");
  }
  const int seals = fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & kRequiredSeals) != kRequiredSeals) {
    return Status(ErrorCode::kInvalidArgument,
                  "the payload arena must be sealed with F_SEAL_SHRINK, F_SEAL_GROW and "
                  "F_SEAL_SEAL (a memfd made with MFD_ALLOW_SEALING), so that it cannot "
                  "shrink under a worker reading it");
  }
  return std::make_shared<const PayloadArena>(std::move(fd), static_cast<uint64_t>(st.st_ino),
                                              declared_bytes);
}

bool PayloadArena::Holds(uint64_t offset, uint64_t size, uint64_t room) const {
  // Each step checked before it is added, so no sum can wrap.
  return offset <= bytes_ && size <= bytes_ - offset && room <= bytes_ - offset - size;
}

}  // namespace taskpool::daemon
