// Rate limiting for warnings that a peer can cause at will (refused
// connections, accept failures, malformed frames): the first one is logged
// at once, repeats within the interval are only counted, and the next line
// after it says how many were held back. A flood then writes one line per
// interval instead of one per event, and the total stays available as a
// metric.
//
// Thread-safety: none; each throttle belongs to one thread (the event loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace taskpool::base {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // Counts one event. Returns how many earlier events went unlogged when
  // this one should be logged (0 for the first of an interval), or nothing
  // when it should only be counted.
  std::optional<uint64_t> Admit(Clock::time_point now = Clock::now());

  // Every event ever admitted, logged or not.
  uint64_t total() const { return total_; }

 private:
  const Clock::duration interval_;
  std::optional<Clock::time_point> last_logged_;
  uint64_t held_back_ = 0;
  uint64_t total_ = 0;
};

}  // namespace taskpool::base
