// What the router counts: the daemon's totals (OutcomeCounts) and the
// statistics per function (FunctionStats), kept together so one call
// counts a task in both.
//
// A task counts once when submitted and once when it ends, with its code
// (and, if that is CANCELLED, why); a chunk counts as its items, each with
// its own code once the chunk ran. A task dropped without a result (its
// connection closed) ends CANCELLED for "disconnect" all the same.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "daemon/route/cancel_reason.h"
#include "daemon/route/function_stats.h"
#include "daemon/route/outcome_counts.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

class TaskStats {
 public:
  explicit TaskStats(size_t function_count) : functions_(function_count) {}

  // `function`: a registry index or FunctionStats::kUnknownFunction.
  void OnSubmitted(uint32_t function, uint64_t tasks);
  // `tasks` terminal results with `code`; `reason` says why for
  // kCancelled.
  void OnFinished(uint32_t function, ErrorCode code, uint64_t tasks,
                  CancelReason reason = CancelReason::kFunction);
  // A worker ran a task: it waited `queue_us`, ran `run_us`.
  void OnRan(uint32_t function, uint64_t queue_us, uint64_t run_us);
  // A chunk ran: each of its items in `output` (a ChunkResults) ran and
  // ended with its own code. An unreadable `output` is returned as an
  // error (what was read of it is counted). Items CANCELLED count for
  // `reason`.
  Status OnChunkRan(uint32_t function, std::string_view output, uint64_t queue_us,
                    CancelReason reason);

  // The daemon's totals: every result, rejections included.
  const OutcomeCounts& counters() const { return counters_; }
  // The totals into `status` (tasks_submitted .. tasks_in_flight).
  void FillTotals(v1::StatusReply* status) const;
  const FunctionStats& functions() const { return functions_; }
  // A reload loaded more functions (a plugin): room for `function_count`.
  void GrowFunctions(size_t function_count) { functions_.Grow(function_count); }

 private:
  OutcomeCounts counters_;
  FunctionStats functions_;
};

}  // namespace taskpool::daemon
