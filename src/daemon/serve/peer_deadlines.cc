#include "daemon/serve/peer_deadlines.h"

#include <algorithm>

namespace taskpool::daemon {

PeerDeadlines::PeerDeadlines(std::chrono::milliseconds hello_timeout,
                             std::chrono::milliseconds frame_timeout, base::SteadyTime accepted)
    : frame_timeout_(frame_timeout), hello_timeout_(hello_timeout) {
  if (hello_timeout.count() > 0) hello_due_ = accepted + hello_timeout;
}

void PeerDeadlines::AfterParsing(bool completed_a_frame, bool unfinished_frame_waits,
                                 base::SteadyTime now) {
  if (!unfinished_frame_waits) {
    frame_begun_.reset();
    return;
  }
  // What waits began after the last whole frame, in this read: a new
  // frame, a new clock. Otherwise it is the same frame, on the old clock.
  if (completed_a_frame || !frame_begun_) frame_begun_ = now;
}

std::optional<base::SteadyTime> PeerDeadlines::Next() const {
  std::optional<base::SteadyTime> next = hello_due_;
  if (frame_begun_ && frame_timeout_.count() > 0) {
    const base::SteadyTime frame_due = *frame_begun_ + frame_timeout_;
    next = next ? std::min(*next, frame_due) : frame_due;
  }
  return next;
}

std::optional<std::string> PeerDeadlines::Overdue(base::SteadyTime now) const {
  if (hello_due_ && now >= *hello_due_) {
    return "no hello within " + std::to_string(hello_timeout_.count()) +
           " ms of connecting (taskpoold --hello-timeout-ms)";
  }
  if (frame_begun_ && frame_timeout_.count() > 0 && now >= *frame_begun_ + frame_timeout_) {
    return "a frame begun " +
           std::to_string(
               std::chrono::duration_cast<std::chrono::milliseconds>(now - *frame_begun_).count()) +
           " ms ago is still not complete (taskpoold --frame-timeout-ms " +
           std::to_string(frame_timeout_.count()) + ")";
  }
  return std::nullopt;
}

}  // namespace taskpool::daemon
