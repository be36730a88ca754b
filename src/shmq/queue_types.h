// Value types both halves of the shared-memory queue speak: its geometry,
// a reference to a task slot, and a task's time limits as enqueued.
#pragma once

#include <cstdint>
#include <memory>

namespace taskpool::shmq {

struct QueueGeometry {
  uint32_t capacity = 512;         // task slots (queued + running + unread)
  uint32_t max_workers = 64;       // worker indices 0..max_workers-1
  uint32_t inline_bytes = 32 * 1024;      // payload bytes kept in the slot
  uint64_t max_payload_bytes = 16 << 20;  // larger inputs/outputs are refused
};

// Names a task slot at one point in its life; the generation makes a stale
// reference to a reused slot harmless.
struct SlotRef {
  uint32_t index = 0;
  uint32_t generation = 0;
  bool operator==(const SlotRef&) const = default;
};

// The time limits of a task, as the supervisor enqueues them for the code
// it runs (the supervisor enforces them on its own). Integers because they
// are stored as such in the slot; the worker sees them as std::chrono
// values (ClaimedTask).
struct TaskTimeLimits {
  int64_t deadline_unix_us = 0;  // CLOCK_REALTIME microseconds; 0: none
  int64_t timeout_us = 0;        // running time, from the claim; 0: none
};

// An input that stays where its client put it: `bytes` bytes at `offset` in
// a file the supervisor holds open as descriptor `fd` (a client's payload
// arena, passed over its socket), followed by `output_room` bytes the worker
// may write the output into. The worker opens the file as
// /proc/<supervisor>/fd/<fd> and checks that it is still the same file
// (`inode`); it copies the input out before the task reads it, so a client
// that changes its arena meanwhile changes nothing the task sees.
struct ArenaInput {
  int fd = -1;
  uint64_t inode = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  uint32_t output_room = 0;
  // Keeps the descriptor open until the slot is free again.
  std::shared_ptr<const void> hold;
};

}  // namespace taskpool::shmq
