#include "daemon/serve/peer_deadlines.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

using std::chrono::milliseconds;
const base::SteadyTime kAccepted = base::SteadyClock::now();

TEST(PeerDeadlinesTest, HelloIsDueAtTheHelloTimeoutAndThenNoLonger) {
  PeerDeadlines deadlines(milliseconds(5000), milliseconds(30000), kAccepted);
  EXPECT_EQ(deadlines.Next(), kAccepted + milliseconds(5000));
  EXPECT_FALSE(deadlines.Overdue(kAccepted + milliseconds(4999)));
  ASSERT_TRUE(deadlines.Overdue(kAccepted + milliseconds(5000)));
  EXPECT_NE(deadlines.Overdue(kAccepted + milliseconds(5000))->find("--hello-timeout-ms"),
            std::string::npos);
  deadlines.HelloReceived();
  EXPECT_FALSE(deadlines.Next());
  EXPECT_FALSE(deadlines.Overdue(kAccepted + milliseconds(60000)));
}

TEST(PeerDeadlinesTest, MoreBytesOfTheSameFrameDoNotRestartItsClock) {
  PeerDeadlines deadlines(milliseconds(0), milliseconds(1000), kAccepted);
  deadlines.AfterParsing(false, true, kAccepted);
  deadlines.AfterParsing(false, true, kAccepted + milliseconds(900));  // one more byte
  EXPECT_EQ(deadlines.Next(), kAccepted + milliseconds(1000));
  ASSERT_TRUE(deadlines.Overdue(kAccepted + milliseconds(1000)));
  EXPECT_NE(deadlines.Overdue(kAccepted + milliseconds(1000))->find("--frame-timeout-ms 1000"),
            std::string::npos);
}

TEST(PeerDeadlinesTest, ANewFrameGetsANewClockAndAWholeOneNone) {
  PeerDeadlines deadlines(milliseconds(0), milliseconds(1000), kAccepted);
  deadlines.AfterParsing(false, true, kAccepted);
  // That frame completed and the next one began in the same read.
  deadlines.AfterParsing(true, true, kAccepted + milliseconds(800));
  EXPECT_EQ(deadlines.Next(), kAccepted + milliseconds(1800));
  deadlines.AfterParsing(true, false, kAccepted + milliseconds(900));
  EXPECT_FALSE(deadlines.Next());
}

TEST(PeerDeadlinesTest, PausedReadingStopsTheFrameClock) {
  PeerDeadlines deadlines(milliseconds(0), milliseconds(1000), kAccepted);
  deadlines.AfterParsing(false, true, kAccepted);
  deadlines.ReadingPaused();
  EXPECT_FALSE(deadlines.Overdue(kAccepted + milliseconds(5000)));
  deadlines.AfterParsing(false, true, kAccepted + milliseconds(5000));  // resumed
  EXPECT_EQ(deadlines.Next(), kAccepted + milliseconds(6000));
}

TEST(PeerDeadlinesTest, ZeroTurnsADeadlineOff) {
  PeerDeadlines deadlines(milliseconds(0), milliseconds(0), kAccepted);
  deadlines.AfterParsing(false, true, kAccepted);
  EXPECT_FALSE(deadlines.Next());
  EXPECT_FALSE(deadlines.Overdue(kAccepted + std::chrono::hours(24)));
}

}  // namespace
}  // namespace taskpool::daemon
