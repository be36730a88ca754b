#include "daemon/pool/respawn_policy.h"

#include <algorithm>

namespace taskpool::daemon {

RespawnPolicy::RespawnPolicy(uint32_t slots, uint32_t crash_rate_threshold)
    : quick_deaths_(slots, 0), threshold_(crash_rate_threshold) {}

std::chrono::milliseconds RespawnPolicy::OnCrash(uint32_t index,
                                                 Clock::time_point started,
                                                 uint64_t tasks_done,
                                                 Clock::time_point now) {
  crashes_.push_back(now);
  ForgetOld(now);
  uint32_t& quick = quick_deaths_.at(index);
  if (tasks_done > 0 || now - started >= kQuickDeath) {
    quick = 0;
    return std::chrono::milliseconds(0);
  }
  ++quick;
  // 100 ms << (quick - 1), without overflowing the shift.
  const uint32_t doublings = std::min<uint32_t>(quick - 1, 20);
  const auto delay = kFirstDelay * (int64_t{1} << doublings);
  return std::min<std::chrono::milliseconds>(delay, kMaxDelay);
}

bool RespawnPolicy::ShouldRaiseAlarm(Clock::time_point now) {
  ForgetOld(now);
  if (crashes_.size() <= threshold_) return false;
  if (last_alarm_ != Clock::time_point{} && now - last_alarm_ < kRateWindow) {
    return false;
  }
  last_alarm_ = now;
  return true;
}

size_t RespawnPolicy::recent_crashes(Clock::time_point now) {
  ForgetOld(now);
  return crashes_.size();
}

void RespawnPolicy::ForgetOld(Clock::time_point now) {
  while (!crashes_.empty() && now - crashes_.front() > kRateWindow) {
    crashes_.pop_front();
  }
}

}  // namespace taskpool::daemon
