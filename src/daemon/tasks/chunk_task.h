// Chunk tasks (Submit.chunk): one queued task whose input holds several
// items (v1::ChunkPayload). A worker runs each item through the registry
// like a task of its own, and the outcomes go back together as one
// v1::ChunkOutput, so the per-task costs (a queue slot, two wake-ups, two
// frames) are paid once per chunk: what makes Pool.map's chunksize fast.
// The supervisor checks the input before queueing it and reads each item's
// outcome for its statistics.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "base/clock.h"
#include "shmq/task_queue.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

// What the worker gives a chunk besides its input.
struct ChunkEnvironment {
  // The chunk's context; each item gets a copy with its own deadline.
  TaskContext context;
  // The submission's deadline and the running-time limit of each item.
  shmq::TaskTimeLimits limits;
  // Called as each item starts, with its start (the worker's activity
  // clock, which the supervisor's per-item timeout reads).
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
