// Translations between the wire messages (taskpool.v1) and the public value
// types of client.hpp. Pure functions, no I/O.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::client {

// An unknown wire value (a newer daemon's) becomes kUnknown.
WorkerState FromWireWorkerState(int wire_state);

// Takes the output (and error) out of `result` rather than copying them:
// an output can be megabytes.
TaskResult FromWireResult(v1::Result&& result);
// The `items` results of a chunk task (Submit.chunk), in item order: each
// item's own outcome when the chunk ran, otherwise the chunk's failure for
// every item. An output that does not hold `items` outcomes makes every
// item INTERNAL.
std::vector<TaskResult> FromWireChunkResult(const v1::Result& result, size_t items);
// What every item of a chunk fails with when the daemon's answer does not
// hold one outcome per item.
TaskResult MalformedChunkResult(size_t items);

// A chunk's results as they came back, not yet split into TaskResults (a
// consumer that keeps only outputs can view them where they are): the
// chunk task's Result, whose output holds one outcome per item, or one
// TaskResult that stands for every item (a chunk that never ran, or a
// payload sent as a task of its own).
struct ChunkResults {
  size_t items = 0;
  std::variant<v1::Result, TaskResult> outcome;

  // One TaskResult per item, in item order.
  std::vector<TaskResult> Split() &&;
};
PoolStatus FromWireStatus(const v1::StatusReply& reply);
ServerInfo FromWireHello(const v1::HelloReply& reply);

// Fills everything of `submit` but the id.
void ToWireSubmit(std::string_view function, std::string_view payload,
                  const SubmitOptions& options, v1::Submit* submit);
// The size of the v1::ChunkPayload that ToWireChunk encodes for `items`.
uint64_t ChunkPayloadBytes(std::span<const std::string_view> items);
// The same for one chunk task running `function` on each of `items`.
void ToWireChunk(std::string_view function, std::span<const std::string_view> items,
                 const SubmitOptions& options, v1::Submit* submit);

// A result for a task that never reached (or never came back from) a worker.
TaskResult FailedResult(ErrorCode code, std::string message);

}  // namespace taskpool::client
