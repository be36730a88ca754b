#include "shmq/layout.h"

#include <algorithm>
#include <bit>

namespace taskpool::shmq {
namespace {

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

uint32_t RingSizeAtLeast(uint64_t entries) {
  return static_cast<uint32_t>(std::bit_ceil(std::max<uint64_t>(entries, 2)));
}

}  // namespace

std::string DescribeQueue(const QueueGeometry& geometry) {
  return "the task queue (" + std::to_string(geometry.capacity) + " slots with " +
         std::to_string(geometry.inline_bytes) + " inline bytes each way)";
}

Status ValidateGeometry(const QueueGeometry& g) {
  if (g.capacity == 0 || g.capacity > (1u << 30)) {
    return Status(ErrorCode::kInvalidArgument,
                  "queue capacity must be 1..2^30");
  }
  if (g.max_workers == 0 || g.max_workers > 0xFFFF) {
    return Status(ErrorCode::kInvalidArgument, "max_workers must be 1..65535");
  }
  if (g.inline_bytes == 0) {
    return Status(ErrorCode::kInvalidArgument, "inline_bytes must be > 0");
  }
  return Status::Ok();
}

ShmHeader PlanLayout(const QueueGeometry& g) {
  ShmHeader h{};
  h.magic = kMagic;
  h.abi_version = kAbiVersion;
  h.header_bytes = sizeof(ShmHeader);
  h.slot_bytes = sizeof(ShmSlot);
  h.worker_bytes = sizeof(ShmWorker);
  h.capacity = g.capacity;
  h.max_workers = g.max_workers;
  h.inline_bytes = g.inline_bytes;
  h.max_payload_bytes = g.max_payload_bytes;
  // Room for every live ticket plus as many stale ones (withdrawn tasks,
  // duplicates re-pushed after a worker death) before overflow kicks in.
  h.ticket_ring_size = RingSizeAtLeast(uint64_t{2} * g.capacity);
  // At most `capacity` slots can be DONE and uncollected, so it never fills.
  h.completion_ring_size = RingSizeAtLeast(g.capacity);
  h.payload_stride = AlignUp(uint64_t{2} * g.inline_bytes, kCacheLine);

  uint64_t offset = AlignUp(sizeof(ShmHeader), kCacheLine);
  h.slots_offset = offset;
  offset += uint64_t{g.capacity} * sizeof(ShmSlot);
  h.tickets_offset = AlignUp(offset, kCacheLine);
  offset = h.tickets_offset + uint64_t{h.ticket_ring_size} * 8;
  h.workers_offset = AlignUp(offset, kCacheLine);
  offset = h.workers_offset + uint64_t{g.max_workers} * sizeof(ShmWorker);
  h.completions_offset = AlignUp(offset, kCacheLine);
  offset = h.completions_offset +
           uint64_t{g.max_workers} * h.completion_ring_size * 8;
  // Page-aligned so each slot's payload pages are touched only when used.
  h.payloads_offset = AlignUp(offset, 4096);
  h.total_bytes = h.payloads_offset + uint64_t{g.capacity} * h.payload_stride;
  return h;
}

}  // namespace taskpool::shmq
