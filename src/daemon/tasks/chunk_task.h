// Chunk tasks (Submit.chunk): one queued task whose input holds several
// items (v1::ChunkPayload). A worker runs each item through the registry
// like a task of its own, and the outcomes go back together as one
// v1::ChunkOutput, so the per-task costs (a queue slot, two wake-ups, two
// frames) are paid once per chunk: what makes Pool.map's chunksize fast.
// The supervisor checks the input before queueing it and reads each item's
// outcome for its statistics. To the shared-memory queue a chunk is one task
// like any other, with the queue's opaque flag set (the router sets it from
// Submit.chunk; the worker loop reads it and calls RunChunk).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "base/clock.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

// What the worker gives a chunk besides its input.
struct ChunkEnvironment {
  // The chunk's context; each item gets a copy with its own deadline.
  TaskContext context;
  // The submission's deadline (nullopt: none) and the running-time limit
  // of each item (zero: none); an item's deadline is the earlier of the
  // submission's and its start plus the limit.
  std::optional<base::WallTime> deadline;
  std::chrono::microseconds item_timeout{0};
  // Called as each item starts (the worker restarts its run clock, which
  // the supervisor's per-item timeout reads).
  std::function<void(base::SteadyTime started)> item_started;
};

struct ChunkOutcome {
  // kOk with a serialized v1::ChunkOutput, or INVALID_ARGUMENT for an input
  // that is not a ChunkPayload (the supervisor checks it first, so only a
  // bug gets here).
  TaskOutcome outcome;
  uint32_t items = 0;  // items in the chunk
};

// Supervisor: the number of items in a ChunkPayload, or INVALID_ARGUMENT
// (malformed, or no items). Walks the encoding without copying the items.
Result<uint32_t> CountChunkItems(std::string_view payload);

// Worker: runs `function` on each item in order. Once the chunk is cancelled
// (context.cancelled()), the items not yet started end CANCELLED unrun.
ChunkOutcome RunChunk(const TaskRegistry& registry, uint32_t function,
                      std::string_view payload, const ChunkEnvironment& environment);

}  // namespace taskpool::daemon
