// The deadlines a connected peer must meet, so that a slow or silent one
// cannot hold a connection slot and its buffers for long:
//
//  * hello: the first message within `hello_timeout` of the accept;
//  * frame: a frame whose first byte has arrived is whole within
//    `frame_timeout` of that byte. Each further byte does not restart the
//    clock, so a client trickling one byte a second is cut off all the
//    same. While the daemon itself stops reading (backpressure) the peer
//    could not finish, so the clock stops, and starts afresh on resuming.
//
// Only the bookkeeping: the connection (ClientSession) owns the timer,
// asks Next() when to look again and Overdue() whether to close.
//
// Thread-safety: a plain value; used from the event loop thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "base/clock.h"

namespace taskpool::daemon {

class PeerDeadlines {
 public:
  // A timeout of 0 turns its deadline off.
  PeerDeadlines(std::chrono::milliseconds hello_timeout, std::chrono::milliseconds frame_timeout,
                base::SteadyTime accepted);

  void HelloReceived() { hello_due_.reset(); }

  // After the buffered input was parsed: whether a frame was completed,
  // and whether the bytes of an unfinished one are left waiting.
  void AfterParsing(bool completed_a_frame, bool unfinished_frame_waits, base::SteadyTime now);

  // The daemon stopped reading this connection.
  void ReadingPaused() { frame_begun_.reset(); }

  // The earliest deadline still to meet; none when there is nothing to wait for.
  std::optional<base::SteadyTime> Next() const;

  // What the peer failed to do in time, naming the option, or none.
  std::optional<std::string> Overdue(base::SteadyTime now) const;

 private:
  const std::chrono::milliseconds frame_timeout_;
  const std::chrono::milliseconds hello_timeout_;
  std::optional<base::SteadyTime> hello_due_;
  std::optional<base::SteadyTime> frame_begun_;  // of the unfinished frame
};

}  // namespace taskpool::daemon
