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
  base::UniqueFd fd;
  for (int attempt = 0; !fd; ++attempt) {
    id = RandomShmId();
    int error = 0;
    Result<base::UniqueFd> created = CreateNamedShm(NameOf(id), &error);
    if (created.ok()) {
      fd = std::move(created).value();
    } else if (error != EEXIST || attempt == 3) {
      // A collision of 128 random bits is someone squatting: a new name.
      id = {};
      return created.status();
    }
  }
  const std::string blob_name = NameOf(id);
  auto fail = [&](Status status) {
    unlink(ShmPath(blob_name).c_str());
    id = {};
    return status;
  };
  if (Status reserved = ReserveShm(fd.get(), bytes.size(),
                                   "a payload of " + std::to_string(bytes.size()) + " bytes");
      !reserved.ok()) {
    return fail(std::move(reserved));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrnoStatus("write blob " + blob_name, n < 0 ? errno : ENOSPC));
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
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
