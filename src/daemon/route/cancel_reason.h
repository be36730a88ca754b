// Why a task was cancelled, as counted in the status (v1::CancelCount):
// with the other outcomes, what makes submitted = succeeded + failed +
// cancelled + in flight hold.
//
// Thread-safety: constants and a pure function.
#pragma once

#include <array>
#include <string_view>

namespace taskpool::daemon {

enum class CancelReason {
  kClient,      // the client sent Cancel
  kDisconnect,  // its connection closed first (no result was sent)
  kShutdown,    // the daemon's forced shutdown
  kNoWorkers,   // no worker could start
  kFunction,    // the task function returned CANCELLED unasked
};

inline constexpr std::array<CancelReason, 5> kCancelReasons = {
    CancelReason::kClient, CancelReason::kDisconnect, CancelReason::kShutdown,
    CancelReason::kNoWorkers, CancelReason::kFunction};

// "client", "disconnect", "shutdown", "no_workers", "function": the
// status's and the metrics' `reason`.
constexpr std::string_view CancelReasonName(CancelReason reason) {
  switch (reason) {
    case CancelReason::kClient: return "client";
    case CancelReason::kDisconnect: return "disconnect";
    case CancelReason::kShutdown: return "shutdown";
    case CancelReason::kNoWorkers: return "no_workers";
    case CancelReason::kFunction: return "function";
  }
  return "function";
}

}  // namespace taskpool::daemon
