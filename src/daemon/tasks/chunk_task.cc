#include "daemon/tasks/chunk_task.h"

#include <chrono>
#include <optional>

#include "base/clock.h"
#include "wire/chunk_wire.h"

namespace taskpool::daemon {

namespace {

// An item's Context::deadline(): the earlier of the submission's deadline
// and the item's start plus its running-time limit (nullopt / zero: none).
std::optional<base::WallTime> ItemDeadline(const ChunkEnvironment& environment,
                                           base::WallTime started) {
  std::optional<base::WallTime> deadline = environment.deadline;
  if (environment.item_timeout.count() != 0) {
    const base::WallTime timeout_end = started + environment.item_timeout;
    if (!deadline || timeout_end < *deadline) deadline = timeout_end;
  }
  return deadline;
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
  const base::SteadyTime chunk_started = base::SteadyClock::now();
  const base::WallTime chunk_started_wall = base::WallClock::now();
  base::SteadyTime started = chunk_started;
  const Result<uint32_t> items = wire::ForEachChunkItem(payload, [&](std::string_view item) {
    if (context.cancelled && context.cancelled()) {
      wire::ItemResultView cancelled;
      cancelled.code = ErrorCode::kCancelled;
      cancelled.error = "the chunk was cancelled before this item ran";
      wire::AppendItemResult(cancelled, &output);
      return;
    }
    if (environment.item_started) environment.item_started(started);
    context.deadline =
        ItemDeadline(environment, chunk_started_wall + (started - chunk_started));
    const TaskOutcome outcome = registry.Run(function, item, context);
    const base::SteadyTime finished = base::SteadyClock::now();
    wire::ItemResultView result;
    result.code = outcome.code;
    (outcome.code == ErrorCode::kOk ? result.output : result.error) = outcome.data;
    result.run_us = base::WireMicros(finished - started);
    wire::AppendItemResult(result, &output);
    started = finished;
  });
  if (!items.ok()) return {TaskOutcome::Error(items.status().code(), items.status().message()), 1};
  return {TaskOutcome::Ok(std::move(output)), *items};
}

}  // namespace taskpool::daemon
