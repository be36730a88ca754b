#include "shmq/blob_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace taskpool::shmq {

MappedBlob& MappedBlob::operator=(MappedBlob&& other) noexcept {
  if (this != &other) {
    if (address_ != nullptr) munmap(address_, size_);
    address_ = std::exchange(other.address_, nullptr);
    size_ = other.size_;
  }
  return *this;
}

MappedBlob::~MappedBlob() {
  if (address_ != nullptr) munmap(address_, size_);
}

std::string BlobStore::NameOf(const ShmId& id) const {
  return instance_ + "." + HexOf(id);
}

// write() rather than mmap+memcpy: tmpfs then fills each page in one pass,
// where a fresh mapping takes a page fault per 4 KiB before the copy.
Status BlobStore::Write(ShmId& id, std::string_view bytes) const {
  Result<base::UniqueFd> created = CreateRandomShm(instance_ + ".", &id);
  if (!created.ok()) {
    id = {};
    return created.status();
  }
  const base::UniqueFd fd = std::move(created).value();
  if (Status written = WriteShm(fd.get(), bytes, "a payload"); !written.ok()) {
    unlink(ShmPath(NameOf(id)).c_str());
    id = {};
    return written;
  }
  return Status::Ok();
}

Status BlobStore::Rewrite(const ShmId& id, std::string_view bytes) const {
  const std::string blob_name = NameOf(id);
  base::UniqueFd fd(open(ShmPath(blob_name).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open kept blob " + blob_name, errno);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("stat kept blob " + blob_name, errno);
  const auto allocated = static_cast<uint64_t>(st.st_size);
  if (bytes.size() < allocated && ftruncate(fd.get(), static_cast<off_t>(bytes.size())) != 0) {
    return ErrnoStatus("truncate kept blob " + blob_name, errno);
  }
  return WriteShm(fd.get(), bytes, "a payload", allocated);
}

// MAP_POPULATE maps every page in the one mmap call instead of one page
// fault per 4 KiB on first read.
Result<MappedBlob> BlobStore::Map(const ShmId& id, uint64_t expected_bytes) const {
  const std::string blob_name = NameOf(id);
  base::UniqueFd fd(open(ShmPath(blob_name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open blob " + blob_name, errno);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || expected_bytes == 0 ||
      static_cast<uint64_t>(st.st_size) < expected_bytes) {
    return Status(ErrorCode::kInternal, "blob " + blob_name + " is short");
  }
  void* address =
      mmap(nullptr, expected_bytes, PROT_READ, MAP_SHARED | MAP_POPULATE, fd.get(), 0);
  if (address == MAP_FAILED) return ErrnoStatus("map blob " + blob_name, errno);
  return MappedBlob(address, expected_bytes);
}

void BlobStore::Remove(const ShmId& id) const {
  if (!id.empty()) unlink(ShmPath(NameOf(id)).c_str());
}

}  // namespace taskpool::shmq
