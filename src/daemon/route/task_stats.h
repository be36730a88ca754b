// What the router counts: the daemon's totals (TaskCounters) and the
// statistics per function (FunctionStats), kept together so one call
// counts a task in both.
//
// A task counts once when submitted and once when it ends, with its code;
// a chunk counts as its items, each with its own code once the chunk ran.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "daemon/route/function_stats.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

struct TaskCounters {
  uint64_t submitted = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;  // every non-OK result, rejections included
};

class TaskStats {
 public:
  explicit TaskStats(size_t function_count) : functions_(function_count) {}

  // `function`: a registry index or FunctionStats::kUnknownFunction.
  void OnSubmitted(uint32_t function, uint64_t tasks);
  // `tasks` terminal results with `code`.
  void OnFinished(uint32_t function, ErrorCode code, uint64_t tasks);
  // A worker ran a task: it waited `queue_us`, ran `run_us`.
  void OnRan(uint32_t function, uint64_t queue_us, uint64_t run_us);
  // A chunk ran: each of its items in `output` (a ChunkResults) ran and
  // ended with its own code. An unreadable `output` is returned as an
  // error (what was read of it is counted).
  Status OnChunkRan(uint32_t function, std::string_view output, uint64_t queue_us);

  const TaskCounters& counters() const { return counters_; }
  const FunctionStats& functions() const { return functions_; }
  // A reload loaded more functions (a plugin): room for `function_count`.
  void GrowFunctions(size_t function_count) { functions_.Grow(function_count); }

 private:
  TaskCounters counters_;
  FunctionStats functions_;
};

}  // namespace taskpool::daemon
