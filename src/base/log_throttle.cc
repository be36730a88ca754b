#include "base/log_throttle.h"

namespace taskpool::base {

std::optional<uint64_t> LogThrottle::Admit(Clock::time_point now) {
  ++total_;
  if (last_logged_ && now - *last_logged_ < interval_) {
    ++held_back_;
    return std::nullopt;
  }
  last_logged_ = now;
  const uint64_t held_back = held_back_;
  held_back_ = 0;
  return held_back;
}

}  // namespace taskpool::base
