// The wire encodings of a chunk task (Submit.chunk, proto/taskpool/v1):
// its input, a v1::ChunkPayload, and its output, a v1::ChunkOutput of
// v1::ItemResult. They are read and written here with protobuf's own
// wire-format primitives instead of the generated messages, because a
// chunk of small items spends most of its time on them: this way items are
// viewed in place rather than copied into a message, and outputs appended
// without building one. The bytes are exactly what the generated code
// reads and writes (tests/common/chunk_wire_test.cc checks both ways).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "taskpool/status.hpp"

namespace taskpool::wire {

// ----------------------------------------------------------- ChunkPayload

// Appends one item to a ChunkPayload being built in `payload`.
void AppendChunkItem(std::string_view item, std::string* payload);

// Calls `on_item` with a view of each item, in order, and returns how many
// there were. INVALID_ARGUMENT, naming the byte, if `payload` is not a
// ChunkPayload (unknown fields are skipped, as a protobuf parser would).
Result<uint32_t> ForEachChunkItem(std::string_view payload,
                                  const std::function<void(std::string_view item)>& on_item);

// ----------------------------------------------------------- ChunkOutput

// One ItemResult, viewed in place.
struct ItemResultView {
  ErrorCode code = ErrorCode::kOk;
  std::string_view error;
  std::string_view output;
  uint64_t run_us = 0;
};

// Appends one ItemResult to a ChunkOutput being built in `output`.
void AppendItemResult(const ItemResultView& item, std::string* output);

// Calls `on_item` for each ItemResult in a ChunkOutput, in order (the
// views point into `output`), and returns how many there were.
// INVALID_ARGUMENT if `output` is not a ChunkOutput.
Result<uint32_t> ForEachItemResult(std::string_view output,
                                   const std::function<void(const ItemResultView& item)>& on_item);

}  // namespace taskpool::wire
