// The brakes on respawning crashed workers.
//
//  * Per slot: a worker that dies soon after it started without finishing
//    a single task (a crash loop, e.g. a plugin that fails at start) is
//    respawned after an exponentially growing delay: 100 ms, 200 ms, ...
//    up to 30 s. A worker that lived longer or did useful work resets its
//    slot's count and is respawned at once.
//  * Pool-wide: more than `threshold` crashes within a minute is an alarm
//    worth an error line (logged at most once a minute).
//
// Retirements (recycling, rolling restarts), the pool's own stop and
// workers the daemon killed for their task (timeouts, deadlines, cancels
// with kill) are not crashes and never reach this class (worker_exit.h).
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include "base/clock.h"

namespace taskpool::daemon {

class RespawnPolicy {
 public:
  using Clock = base::SteadyClock;

  static constexpr std::chrono::seconds kQuickDeath{1};
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::seconds kMaxDelay{30};
  static constexpr std::chrono::minutes kRateWindow{1};

  RespawnPolicy(uint32_t slots, uint32_t crash_rate_threshold);

  // Records a crash of slot `index` whose process started at `started`
  // and finished `tasks_done` tasks; returns how long to wait before
  // respawning it.
  std::chrono::milliseconds OnCrash(uint32_t index, Clock::time_point started,
                                    uint64_t tasks_done,
                                    Clock::time_point now = Clock::now());

  // True once per window while crashes in the last minute exceed the
  // threshold (so the caller logs the alarm once, not per crash).
  bool ShouldRaiseAlarm(Clock::time_point now = Clock::now());

  // Reload: the new --crash-rate-threshold.
  void set_threshold(uint32_t threshold) { threshold_ = threshold; }
  uint32_t threshold() const { return threshold_; }

  // Crashes within the last minute.
  size_t recent_crashes(Clock::time_point now = Clock::now());

 private:
  void ForgetOld(Clock::time_point now);

  std::vector<uint32_t> quick_deaths_;  // consecutive, per slot
  uint32_t threshold_;
  std::deque<Clock::time_point> crashes_;
  Clock::time_point last_alarm_{};
};

}  // namespace taskpool::daemon
