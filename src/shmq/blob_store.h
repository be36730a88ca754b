// Payloads too large for a slot's inline area: one file in /dev/shm per
// payload, named "<instance mark>.<32 random hex>" (instance_mark.h), the
// random part kept in the slot (ShmSlot::input_blob / output_blob). Random
// because /dev/shm is listable by every user: a name derived from the slot
// could be created first by someone else. Each blob is written by exactly
// one process (the supervisor an input, the worker an output) before the
// slot's state word publishes it, so a dying writer never leaves a lock
// held, only a blob to remove (by the supervisor, or by a later start's
// sweep if the whole daemon died).
//
// A blob may outlive its task: a freed slot can keep its blobs for the
// slot's next large task, which rewrites them in place (Rewrite), sparing
// the allocation, zeroing and freeing of every page (a fresh 1 MiB blob
// costs about ten times its copy).
//
// Blobs are created O_EXCL|O_NOFOLLOW, mode 0600, written whole with
// write() (which fails with ENOSPC where a store into a mapping would
// fault) and mapped only then, so a full /dev/shm is a SHARED_MEMORY_FULL
// error, never a SIGBUS. No process keeps a blob's
// descriptor open (write, then close; map, then close), so nothing leaks
// into forked children.
//
// Thread-safety: no state beyond the instance's name; the files are
// coordinated by the slot state word (layout.md, "Blobs").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "shmq/shm_files.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

// A blob mapped read-only; unmapped when destroyed. Move-only.
class MappedBlob {
 public:
  MappedBlob(void* address, uint64_t size) : address_(address), size_(size) {}
  MappedBlob(MappedBlob&& other) noexcept
      : address_(std::exchange(other.address_, nullptr)), size_(other.size_) {}
  MappedBlob& operator=(MappedBlob&& other) noexcept;
  MappedBlob(const MappedBlob&) = delete;
  MappedBlob& operator=(const MappedBlob&) = delete;
  ~MappedBlob();

  std::string_view bytes() const { return {static_cast<const char*>(address_), size_}; }

 private:
  void* address_;
  uint64_t size_;
};

class BlobStore {
 public:
  // `instance` is the queue's InstanceMark name.
  explicit BlobStore(std::string instance) : instance_(std::move(instance)) {}

  std::string NameOf(const ShmId& id) const;

  // Creates a blob under a fresh random name, reserves its size and writes
  // `bytes` into it. The name goes into `id` (the slot's field) before the
  // file exists, so whoever reads the slot after the writer died can
  // remove a half-made blob. SHARED_MEMORY_FULL if /dev/shm has no room,
  // INTERNAL naming the blob otherwise; on any error no blob is left and
  // `id` is empty.
  Status Write(ShmId& id, std::string_view bytes) const;

  // Writes `bytes` over the contents of the existing blob `id` (one kept
  // from an earlier task of the same slot, see SupervisorQueue::KeepBlobs):
  // its pages are reused, not freed and allocated again, and it is cut to
  // the new size. SHARED_MEMORY_FULL if it must grow and /dev/shm has no
  // room, INTERNAL naming the blob otherwise (it may be gone: then Write a
  // new one). REQUIRES: no other process writes or maps it meanwhile.
  Status Rewrite(const ShmId& id, std::string_view bytes) const;

  // Maps the blob read-only. INTERNAL if it is missing or shorter than
  // `expected_bytes`.
  Result<MappedBlob> Map(const ShmId& id, uint64_t expected_bytes) const;

  // Removes the blob; no-op if it is absent or `id` is empty.
  void Remove(const ShmId& id) const;

 private:
  std::string instance_;
};

}  // namespace taskpool::shmq
