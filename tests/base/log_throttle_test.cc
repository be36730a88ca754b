#include "base/log_throttle.h"

#include <gtest/gtest.h>

namespace taskpool::base {
namespace {

using std::chrono::seconds;

TEST(LogThrottleTest, FirstEventIsLoggedAndRepeatsWithinTheIntervalAreCounted) {
  LogThrottle throttle(seconds(10));
  const LogThrottle::Clock::time_point start{};
  EXPECT_EQ(throttle.Admit(start), 0u);
  for (int i = 1; i <= 1000; ++i) EXPECT_FALSE(throttle.Admit(start + seconds(9)).has_value());
  EXPECT_EQ(throttle.total(), 1001u);
}

TEST(LogThrottleTest, TheFirstEventAfterTheIntervalReportsWhatWasHeldBack) {
  LogThrottle throttle(seconds(10));
  const LogThrottle::Clock::time_point start{};
  ASSERT_EQ(throttle.Admit(start), 0u);
  (void)throttle.Admit(start + seconds(1));
  (void)throttle.Admit(start + seconds(2));
  EXPECT_EQ(throttle.Admit(start + seconds(10)), 2u);
  EXPECT_EQ(throttle.Admit(start + seconds(25)), 0u);
  EXPECT_EQ(throttle.total(), 5u);
}

}  // namespace
}  // namespace taskpool::base
