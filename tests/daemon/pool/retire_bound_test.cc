#include "daemon/pool/retire_bound.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetireBoundTest, AWorkerFinishingItsTaskIsLeftAloneUntilTheBound) {
  EXPECT_EQ(JudgeRetiring(seconds(29), false, seconds(30)), RetireVerdict::kWait);
  EXPECT_EQ(JudgeRetiring(seconds(30), false, seconds(30)), RetireVerdict::kKillOverdue);
}

TEST(RetireBoundTest, AStoppedWorkerIsKilledAfterTheShortGrace) {
  EXPECT_EQ(JudgeRetiring(kStoppedRetireGrace - milliseconds(1), true, seconds(30)),
            RetireVerdict::kWait);
  EXPECT_EQ(JudgeRetiring(kStoppedRetireGrace, true, seconds(30)), RetireVerdict::kKillStopped);
}

TEST(RetireBoundTest, NoShutdownTimeoutMeansNoWaitAsAtShutdown) {
  EXPECT_EQ(JudgeRetiring(milliseconds(0), false, milliseconds(0)), RetireVerdict::kKillOverdue);
}

}  // namespace
}  // namespace taskpool::daemon
