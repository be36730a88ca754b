// Value types both halves of the shared-memory queue speak: its geometry,
// a reference to a task slot, and a task's time limits as enqueued.
#pragma once

#include <cstdint>

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

}  // namespace taskpool::shmq
