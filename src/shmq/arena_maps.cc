#include "shmq/arena_maps.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "base/unique_fd.h"

namespace taskpool::shmq {

ArenaMapping::~ArenaMapping() { munmap(base_, size_); }

Result<std::shared_ptr<ArenaMapping>> ArenaMaps::Map(uint32_t fd, uint32_t inode,
                                                    uint64_t needed) {
  std::shared_ptr<ArenaMapping> mapping;
  for (auto entry = mapped_.begin(); entry != mapped_.end(); ++entry) {
    if (entry->fd != fd || entry->inode != inode) continue;
    mapped_.splice(mapped_.begin(), mapped_, entry);
    mapping = entry->mapping;
    break;
  }
  if (mapping == nullptr) {
    Result<std::shared_ptr<ArenaMapping>> opened = Open(fd, inode);
    if (!opened.ok()) return opened;
    mapping = *opened;
    if (mapped_.size() == kMaxMapped) mapped_.pop_back();
    mapped_.push_front({fd, inode, mapping});
  }
  if (mapping->size() < needed) {
    return Status(ErrorCode::kInternal,
                  "the task's input lies beyond the end of its client's payload arena");
  }
  return mapping;
}

Result<std::shared_ptr<ArenaMapping>> ArenaMaps::Open(uint32_t fd, uint32_t inode) {
  const std::string path =
      "/proc/" + std::to_string(supervisor_) + "/fd/" + std::to_string(fd);
  base::UniqueFd file(open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!file) return ErrnoStatus("open the client's payload arena " + path, errno);
  struct stat st {};
  if (fstat(file.get(), &st) != 0) {
    return ErrnoStatus("stat the client's payload arena " + path, errno);
  }
  // The descriptor may have been closed and its number reused since the
  // task was queued (its client went away): then it is another file.
  if (static_cast<uint32_t>(st.st_ino) != inode || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    return Status(ErrorCode::kInternal,
                  "the client's payload arena is gone (its connection closed)");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file.get(), 0);
  if (base == MAP_FAILED) return ErrnoStatus("map the client's payload arena", errno);
  return std::make_shared<ArenaMapping>(static_cast<char*>(base), size);
}

}  // namespace taskpool::shmq
