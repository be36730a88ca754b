// How the tasks of one function (or of the whole daemon) ended so far:
// what makes submitted = succeeded + failed + cancelled + in flight hold,
// since every task is counted once when it enters and once when it ends.
//
// A task ending CANCELLED is a cancellation, counted by its reason, never
// a failure; every other error code is a failure.
//
// Thread-safety: a plain value; used from the supervisor's event loop.
#pragma once

#include <array>
#include <cstdint>
#include <map>

#include "daemon/route/cancel_reason.h"
#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

struct OutcomeCounts {
  uint64_t submitted = 0;
  uint64_t succeeded = 0;
  std::map<ErrorCode, uint64_t> failed;  // by code; never kCancelled
  std::array<uint64_t, kCancelReasons.size()> cancelled{};  // by CancelReason

  void OnSubmitted(uint64_t tasks) { submitted += tasks; }
  // `tasks` ended with `code`; `reason` counts only for kCancelled.
  void OnFinished(ErrorCode code, uint64_t tasks, CancelReason reason);

  uint64_t failed_total() const;
  uint64_t cancelled_total() const;
  uint64_t cancelled_for(CancelReason reason) const {
    return cancelled[static_cast<size_t>(reason)];
  }
  // Accepted and not yet ended.
  uint64_t in_flight() const {
    return submitted - succeeded - failed_total() - cancelled_total();
  }
};

// Appends one CancelCount per reason of `counts`, in kCancelReasons order;
// with `with_zeros` also the reasons never seen (so that each metrics
// series exists from the start).
void FillCancelCounts(const OutcomeCounts& counts, bool with_zeros,
                      google::protobuf::RepeatedPtrField<v1::CancelCount>* out);

}  // namespace taskpool::daemon
