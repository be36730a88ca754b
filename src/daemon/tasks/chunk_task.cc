#include "daemon/tasks/chunk_task.h"


#include <algorithm>
#include <chrono>

#include "wire/chunk_wire.h"

namespace taskpool::daemon {

namespace {

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An item's Context::deadline(): the earlier of the submission's deadline
// and the item's start (`started_unix_us`) plus its timeout (each 0: none).
int64_t ItemDeadline(const shmq::TaskTimeLimits& limits, int64_t started_unix_us) {
  if (limits.timeout_us == 0) return limits.deadline_unix_us;
  const int64_t timeout_end = started_unix_us + limits.timeout_us;
  return limits.deadline_unix_us == 0 ? timeout_end
                                      : std::min(limits.deadline_unix_us, timeout_end);
}

}  // namespace

Result<uint32_t> CountChunkItems(std::string_view payload) {
  Result<uint32_t> items = wire::ForEachChunkItem(payload, [](std::string_view) {});
  if (items.ok() && *items == 0) {
    return Status(ErrorCode::kInvalidArgument, "a chunk needs at least one item");
  }
  return items;
}

ChunkOutcome RunChunk(const TaskRegistry& registry, uint32_t function,
                      std::string_view payload, const ChunkEnvironment& environment) {
  std::string output;
  output.reserve(payload.size() + 64);
  TaskContext context = environment.context;
  // One clock read per item: an item starts when the one before it ends.
  // (Small items make clock reads a visible part of a chunk's cost.) The
  // wall clock is read once, and items' starts are derived from it.
  const int64_t chunk_started_ns = SteadyNanos();
  const int64_t chunk_started_unix_us = UnixMicros();
  int64_t started_ns = chunk_started_ns;
  const Result<uint32_t> items = wire::ForEachChunkItem(payload, [&](std::string_view item) {
    if (context.cancelled && context.cancelled()) {
      wire::ItemResultView cancelled;
      cancelled.code = ErrorCode::kCancelled;
      cancelled.error = "the chunk was cancelled before this item ran";
      wire::AppendItemResult(cancelled, &output);
      return;
    }
    if (environment.item_started) environment.item_started(started_ns);
    context.deadline_unix_us = ItemDeadline(
        environment.limits, chunk_started_unix_us + (started_ns - chunk_started_ns) / 1000);
    const TaskOutcome outcome = registry.Run(function, item, context);
    const int64_t finished_ns = SteadyNanos();
    wire::ItemResultView result;
    result.code = outcome.code;
    (outcome.code == ErrorCode::kOk ? result.output : result.error) = outcome.data;
    result.run_us = static_cast<uint64_t>((finished_ns - started_ns) / 1000);
    wire::AppendItemResult(result, &output);
    started_ns = finished_ns;
  });
  if (!items.ok()) return {TaskOutcome::Error(items.status().code(), items.status().message()), 1};
  return {TaskOutcome::Ok(std::move(output)), *items};
}

}  // namespace taskpool::daemon
