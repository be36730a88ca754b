// Translations between the wire messages (taskpool.v1) and the public value
// types of client.hpp. Pure functions, no I/O.
#pragma once

#include <span>
#include <string_view>
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
