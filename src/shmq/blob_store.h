// Payloads too large for a slot's inline area: one POSIX shared-memory
// object per payload, named after the queue, the slot and a generation:
// "<queue>.in.<slot>.<gen>" (a task's input) and "<queue>.out.<slot>.<gen>"
// (its output). Each blob is written by exactly one process (the supervisor
// an input, the worker an output) before the slot's state word publishes
// it, so a dying writer never leaves a lock held, only a blob to remove.
//
// No process keeps a blob's descriptor open (write, then close; map, then
// close), so nothing leaks into forked children.
//
// Thread-safety: no state beyond the queue's name; the objects are
// coordinated by the slot state word (layout.md, "Blobs").
#pragma once

#include <boost/interprocess/mapped_region.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "taskpool/status.hpp"

namespace taskpool::shmq {

enum class BlobKind { kInput, kOutput };

// A blob mapped read-only; unmapped when destroyed.
class MappedBlob {
 public:
  MappedBlob(boost::interprocess::mapped_region region, uint64_t size)
      : region_(std::move(region)), size_(size) {}
  std::string_view bytes() const {
    return {static_cast<const char*>(region_.get_address()), size_};
  }

 private:
  boost::interprocess::mapped_region region_;
  uint64_t size_;
};

class BlobStore {
 public:
  explicit BlobStore(std::string queue_name)
      : queue_name_(std::move(queue_name)) {}

  std::string NameOf(BlobKind kind, uint32_t slot, uint32_t generation) const;

  // Writes `bytes` into a new blob (replacing any leftover of that name)
  // and closes it. INTERNAL naming the blob if it cannot be written (then
  // no blob is left).
  Status Write(BlobKind kind, uint32_t slot, uint32_t generation,
               std::string_view bytes) const;

  // Maps the blob read-only. INTERNAL if it is missing or shorter than
  // `expected_bytes`.
  Result<MappedBlob> Map(BlobKind kind, uint32_t slot, uint32_t generation,
                         uint64_t expected_bytes) const;

  // Removes the blob; no-op if it is absent.
  void Remove(BlobKind kind, uint32_t slot, uint32_t generation) const;

  // Removes every blob of queue `queue_name` that /dev/shm holds (left by
  // a crashed daemon). Lists /dev/shm, so call it only when the queue's
  // main object says blobs may exist (Segment::RemoveStale).
  static void RemoveAllOf(const std::string& queue_name);

 private:
  std::string queue_name_;
};

}  // namespace taskpool::shmq
