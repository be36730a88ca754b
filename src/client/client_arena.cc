#include "client/client_arena.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "base/descriptor_passing.h"

namespace taskpool::client {

namespace {
constexpr uint64_t kAlignment = 64;
constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

// Arenas alive in this process, against its descriptor limit.
std::atomic<uint64_t> live_arenas{0};

}  // namespace

Result<std::unique_ptr<ClientArena>> ClientArena::Create(uint64_t bytes) {
  if (live_arenas.load() >= base::DescriptorLimit() / 4) {
    return Status(ErrorCode::kInternal,
                  "this process has a payload arena per quarter of its descriptor limit");
  }
  base::UniqueFd fd(memfd_create("taskpool-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return ErrnoStatus("memfd_create for the payload arena", errno);
  if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
    return ErrnoStatus("size the payload arena", errno);
  }
  if (fcntl(fd.get(), F_ADD_SEALS, kSeals) != 0) {
    return ErrnoStatus("seal the payload arena", errno);
  }
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return ErrnoStatus("map the payload arena", errno);
  return std::unique_ptr<ClientArena>(
      new ClientArena(std::move(fd), static_cast<char*>(base), bytes));
}

ClientArena::ClientArena(base::UniqueFd fd, char* base, uint64_t bytes)
    : fd_(std::move(fd)), base_(base), bytes_(bytes) {
  free_.emplace(0, bytes);
  ++live_arenas;
}

ClientArena::~ClientArena() {
  munmap(base_, bytes_);
  --live_arenas;
}

std::optional<ClientArena::Range> ClientArena::Allocate(uint64_t size) {
  if (size == 0 || size > bytes_) return std::nullopt;
  size = (size + kAlignment - 1) / kAlignment * kAlignment;
  std::lock_guard lock(mutex_);
  for (auto place = free_.begin(); place != free_.end(); ++place) {
    if (place->second < size) continue;
    const Range range{place->first, size};
    const uint64_t left = place->second - size;
    free_.erase(place);
    if (left != 0) free_.emplace(range.offset + size, left);
    touched_ = std::max(touched_, range.offset + size);
    return range;
  }
  return std::nullopt;
}

void ClientArena::Free(Range range) {
  std::lock_guard lock(mutex_);
  auto next = free_.emplace(range.offset, range.size).first;
  // Joined with its neighbours, so first fit finds one range, not pieces.
  if (auto after = std::next(next); after != free_.end() && next->first + next->second == after->first) {
    next->second += after->second;
    free_.erase(after);
  }
  if (next != free_.begin()) {
    auto before = std::prev(next);
    if (before->first + before->second == next->first) {
      before->second += next->second;
      free_.erase(next);
    }
  }
  // Nothing in use: no worker reads or writes the arena now, so its pages
  // past the first kKeptIdleBytes can go (they read as zeros if touched
  // again; the size stays, so no mapping of it can fault).
  if (free_.size() == 1 && free_.begin()->second == bytes_ && touched_ > kKeptIdleBytes) {
    fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              static_cast<off_t>(kKeptIdleBytes), static_cast<off_t>(touched_ - kKeptIdleBytes));
    touched_ = kKeptIdleBytes;
  }
}

}  // namespace taskpool::client
