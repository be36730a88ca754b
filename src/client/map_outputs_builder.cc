#include "client/map_outputs_builder.h"

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "wire/chunk_wire.h"
#include "wire/error_code.h"

namespace taskpool {

Status MapOutputs::status(size_t i) const {
  if (ok(i)) return Status::Ok();
  const auto error = std::lower_bound(errors_.begin(), errors_.end(), i,
                                      [](const auto& entry, size_t at) { return entry.first < at; });
  return Status(codes_[i], error != errors_.end() && error->first == i ? error->second : "");
}

namespace client {

MapOutputsBuilder::MapOutputsBuilder(size_t inputs) {
  outputs_.outputs_.resize(inputs);
  outputs_.codes_.resize(inputs, ErrorCode::kOk);
}

void MapOutputsBuilder::Add(size_t position, TaskResult result) {
  std::lock_guard lock(mutex_);
  if (!result.ok()) {
    Fail(position, result.code, result.error);
    return;
  }
  outputs_.outputs_[position] = outputs_.buffers_.emplace_back(std::move(result.output));
}

void MapOutputsBuilder::Add(size_t first_position, ChunkResults chunk) {
  if (TaskResult* every = std::get_if<TaskResult>(&chunk.outcome)) {
    if (chunk.items == 1) return Add(first_position, std::move(*every));
    std::lock_guard lock(mutex_);
    FailAll(first_position, chunk.items, every->ok() ? MalformedChunkResult(chunk.items) : *every);
    return;
  }
  v1::Result& result = std::get<v1::Result>(chunk.outcome);
  std::lock_guard lock(mutex_);
  if (result.code() != v1::OK) {
    FailAll(first_position, chunk.items,
            FailedResult(wire::FromWireCode(result.code()), result.error()));
    return;
  }
  const std::string& bytes = outputs_.buffers_.emplace_back(std::move(*result.mutable_output()));
  size_t seen = 0;
  const Result<uint32_t> read = wire::ForEachItemResult(bytes, [&](const wire::ItemResultView& item) {
    if (seen < chunk.items) {
      const size_t position = first_position + seen;
      if (item.code == ErrorCode::kOk) {
        outputs_.outputs_[position] = item.output;
      } else {
        Fail(position, item.code, item.error);
      }
    }
    ++seen;
  });
  if (!read.ok() || seen != chunk.items) {
    FailAll(first_position, chunk.items, MalformedChunkResult(chunk.items));
  }
}

void MapOutputsBuilder::Fail(size_t position, ErrorCode code, std::string_view error) {
  if (outputs_.codes_[position] == ErrorCode::kOk) {
    outputs_.errors_.emplace_back(position, std::string(error));
  } else {  // a malformed chunk after some of its items failed
    auto entry = std::find_if(outputs_.errors_.begin(), outputs_.errors_.end(),
                              [&](const auto& e) { return e.first == position; });
    entry->second.assign(error);
  }
  outputs_.outputs_[position] = {};
  outputs_.codes_[position] = code;
}

void MapOutputsBuilder::FailAll(size_t first_position, size_t items, const TaskResult& result) {
  for (size_t i = 0; i < items; ++i) Fail(first_position + i, result.code, result.error);
}

MapOutputs MapOutputsBuilder::Take() && {
  std::sort(outputs_.errors_.begin(), outputs_.errors_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return std::move(outputs_);
}

}  // namespace client
}  // namespace taskpool
