// Counters and latency distributions per task function, for the
// `functions` of a StatusReply: tasks submitted, succeeded, failed (by
// error code), cancelled (by reason) and in flight (outcome_counts.h), the
// queue wait (accepted -> a worker starts it) and the run
// time (start -> result) of every task that ran.
//
// Only registered functions have an entry (indexed like the TaskRegistry,
// which is fixed before the workers fork). Submissions naming an unknown
// function count in the daemon's totals only, so clients sending arbitrary
// names cannot grow this table. An entry is allocated on a function's first
// submission: plugins may register many functions that are never called.
//
// Thread-safety: none; used from the supervisor's event loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "daemon/route/cancel_reason.h"
#include "daemon/route/latency_histogram.h"
#include "daemon/route/outcome_counts.h"
#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class TaskRegistry;

class FunctionStats {
 public:
  // Not a registry index: the task named no registered function.
  static constexpr uint32_t kUnknownFunction = UINT32_MAX;

  explicit FunctionStats(size_t function_count);

  // A reload loaded more functions (a plugin): room for `function_count`.
  void Grow(size_t function_count) {
    if (function_count > entries_.size()) entries_.resize(function_count);
  }

  // `tasks` counts a chunk's items, each a task of its own here.
  void OnSubmitted(uint32_t function, uint64_t tasks = 1);
  // A terminal result, whatever produced it (rejection, worker, timeout);
  // `reason` counts only for kCancelled.
  void OnFinished(uint32_t function, ErrorCode code, uint64_t tasks = 1,
                  CancelReason reason = CancelReason::kFunction);
  // A worker started the task `queue_us` after it was accepted and returned
  // its result `run_us` later.
  void OnRan(uint32_t function, uint64_t queue_us, uint64_t run_us);

  // Appends one entry per function submitted at least once, sorted by name.
  void Fill(const TaskRegistry& registry,
            google::protobuf::RepeatedPtrField<v1::FunctionStatus>* out) const;

 private:
  struct Entry {
    OutcomeCounts outcomes;
    LatencyHistogram queue_wait;
    LatencyHistogram run_time;
  };
  // The entry for a registered function, created on first use; null for
  // kUnknownFunction.
  Entry* EntryFor(uint32_t function);

  std::vector<std::unique_ptr<Entry>> entries_;  // by registry index
};

}  // namespace taskpool::daemon
