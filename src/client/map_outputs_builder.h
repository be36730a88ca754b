// Fills a MapOutputs as map_outputs' results arrive, in any order.
#pragma once

#include <cstddef>
#include <mutex>
#include <string_view>

#include "client/wire_convert.h"
#include "taskpool/client.hpp"

namespace taskpool::client {

class MapOutputsBuilder {
 public:
  // For `inputs` results, each to be added exactly once.
  explicit MapOutputsBuilder(size_t inputs);

  // Safe from any thread: results arrive on the reader thread, and on the
  // submitting one for tasks that fail before they are sent.
  void Add(size_t position, TaskResult result);
  // Keeps the chunk's encoded output whole and views each item in it.
  void Add(size_t first_position, ChunkResults chunk);

  // Once every result is in.
  MapOutputs Take() &&;

 private:
  // With mutex_ held.
  void Fail(size_t position, ErrorCode code, std::string_view error);
  void FailAll(size_t first_position, size_t items, const TaskResult& result);

  std::mutex mutex_;
  MapOutputs outputs_;
};

}  // namespace taskpool::client
