#include "daemon/pool/respawn_policy.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = RespawnPolicy::Clock;

TEST(RespawnPolicyTest, WorkerThatLivedLongIsRespawnedAtOnce) {
  RespawnPolicy policy(2, 100);
  const Clock::time_point start = Clock::now();
  EXPECT_EQ(policy.OnCrash(0, start, 0, start + seconds(5)), milliseconds(0));
}

TEST(RespawnPolicyTest, WorkerThatDidWorkIsRespawnedAtOnceEvenIfYoung) {
  RespawnPolicy policy(2, 100);
  const Clock::time_point start = Clock::now();
  EXPECT_EQ(policy.OnCrash(0, start, 3, start + milliseconds(10)), milliseconds(0));
}

TEST(RespawnPolicyTest, CrashLoopBacksOffExponentiallyUpToTheCap) {
  RespawnPolicy policy(2, 1000);
  Clock::time_point now = Clock::now();
  std::vector<milliseconds> delays;
  for (int i = 0; i < 12; ++i) {
    delays.push_back(policy.OnCrash(1, now, 0, now + milliseconds(5)));
    now += seconds(1);
  }
  EXPECT_EQ(delays[0], milliseconds(100));
  EXPECT_EQ(delays[1], milliseconds(200));
  EXPECT_EQ(delays[2], milliseconds(400));
  EXPECT_EQ(delays.back(), RespawnPolicy::kMaxDelay);
  // Another slot is not affected.
  EXPECT_EQ(policy.OnCrash(0, now, 0, now + seconds(2)), milliseconds(0));
}

TEST(RespawnPolicyTest, HealthyLifeResetsTheBackoff) {
  RespawnPolicy policy(1, 1000);
  Clock::time_point now = Clock::now();
  policy.OnCrash(0, now, 0, now + milliseconds(1));
  policy.OnCrash(0, now, 0, now + milliseconds(1));
  EXPECT_EQ(policy.OnCrash(0, now, 0, now + seconds(3)), milliseconds(0));
  EXPECT_EQ(policy.OnCrash(0, now, 0, now + milliseconds(1)), milliseconds(100));
}

TEST(RespawnPolicyTest, AlarmOncePerMinuteAboveTheThreshold) {
  RespawnPolicy policy(1, 3);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < 3; ++i) policy.OnCrash(0, start, 1, start + seconds(i));
  EXPECT_FALSE(policy.ShouldRaiseAlarm(start + seconds(3)));
  policy.OnCrash(0, start, 1, start + seconds(4));
  EXPECT_TRUE(policy.ShouldRaiseAlarm(start + seconds(4)));
  policy.OnCrash(0, start, 1, start + seconds(5));
  EXPECT_FALSE(policy.ShouldRaiseAlarm(start + seconds(5))) << "logged once per window";
  // Old crashes age out of the window.
  EXPECT_EQ(policy.recent_crashes(start + seconds(200)), 0u);
}

}  // namespace
}  // namespace taskpool::daemon
