// The router's time: what time it is, and a call a little later.
//
// Injected so that timeouts, deadlines, the slow log and the user-name
// cache can be tested with time that moves only when a test says so. The
// daemon's clock is AsioRouterClock (asio_router_clock.h).
//
// Now() is std::chrono::steady_clock (CLOCK_MONOTONIC), the clock of the
// queue's timestamps; WallNow() is only for telling task code its deadline.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <chrono>
#include <functional>

namespace taskpool::daemon {

class RouterClock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~RouterClock() = default;

  virtual TimePoint Now() const = 0;
  virtual std::chrono::system_clock::time_point WallNow() const = 0;

  // Calls `tick` once, from the event loop, `after` from now (not from
  // inside this call). REQUIRES: no earlier tick is still pending; the
  // router keeps one at a time (DeadlineWatch).
  virtual void CallAfter(std::chrono::milliseconds after, std::function<void()> tick) = 0;
};

}  // namespace taskpool::daemon
