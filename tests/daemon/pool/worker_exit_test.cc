#include "daemon/pool/worker_exit.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace taskpool::daemon {
namespace {

// Wait statuses as the kernel encodes them (waitpid(2)).
int KilledBy(int signal_number) { return signal_number; }
int ExitedWith(int code) { return code << 8; }

WorkerEntry Running(bool killed_by_daemon = false) {
  WorkerEntry entry;
  entry.state = WorkerEntry::State::kRunning;
  entry.killed_by_daemon = killed_by_daemon;
  return entry;
}

TEST(WorkerExitTest, OurSigkillForATaskIsNotACrash) {
  EXPECT_EQ(ClassifyWorkerExit(Running(true), KilledBy(SIGKILL)), WorkerExit::kKilledByDaemon);
}

TEST(WorkerExitTest, ASigkillWeDidNotSendIsACrash) {
  // The OOM killer, or an administrator's kill -9.
  EXPECT_EQ(ClassifyWorkerExit(Running(false), KilledBy(SIGKILL)), WorkerExit::kCrashed);
}

TEST(WorkerExitTest, ASegfaultBeforeOurKillLandedIsStillACrash) {
  EXPECT_EQ(ClassifyWorkerExit(Running(true), KilledBy(SIGSEGV)), WorkerExit::kCrashed);
}

TEST(WorkerExitTest, RetirementsAndStopsAreNotCrashes) {
  EXPECT_EQ(ClassifyWorkerExit(Running(), ExitedWith(kWorkerRecycledExitCode)),
            WorkerExit::kRecycledMaxTasks);
  EXPECT_EQ(ClassifyWorkerExit(Running(), ExitedWith(kWorkerRecycledRssExitCode)),
            WorkerExit::kRecycledMaxRss);
  WorkerEntry stopping = Running();
  stopping.state = WorkerEntry::State::kStopping;
  EXPECT_EQ(ClassifyWorkerExit(stopping, KilledBy(SIGKILL)), WorkerExit::kStoppedWithPool);
  WorkerEntry retiring = Running();
  retiring.state = WorkerEntry::State::kRetiring;
  EXPECT_EQ(ClassifyWorkerExit(retiring, ExitedWith(0)), WorkerExit::kRetiredForRestart);
  retiring.retirement = WorkerEntry::Retirement::kScaledDown;
  EXPECT_EQ(ClassifyWorkerExit(retiring, ExitedWith(0)), WorkerExit::kScaledDown);
}

TEST(WorkerExitTest, OnlyCrashesAreDeathsAndPlannedEndsHaveAReason) {
  EXPECT_TRUE(IsDeath(WorkerExit::kCrashed));
  EXPECT_TRUE(IsDeath(WorkerExit::kCannotStart));
  EXPECT_FALSE(IsDeath(WorkerExit::kKilledByDaemon));
  EXPECT_STREQ(ReplacementReason(WorkerExit::kKilledByDaemon), "killed");
  EXPECT_STREQ(ReplacementReason(WorkerExit::kRetiredForRestart), "reload");
  EXPECT_STREQ(ReplacementReason(WorkerExit::kRecycledMaxTasks), "max_tasks");
  EXPECT_STREQ(ReplacementReason(WorkerExit::kRecycledMaxRss), "max_rss");
  EXPECT_EQ(ReplacementReason(WorkerExit::kScaledDown), nullptr);
  EXPECT_EQ(ReplacementReason(WorkerExit::kCrashed), nullptr);
}

TEST(WorkerExitTest, FatalExitCodeMeansCannotStart) {
  EXPECT_EQ(ClassifyWorkerExit(Running(), ExitedWith(kWorkerFatalExitCode)),
            WorkerExit::kCannotStart);
  EXPECT_EQ(ClassifyWorkerExit(Running(), ExitedWith(3)), WorkerExit::kCrashed);
}

}  // namespace
}  // namespace taskpool::daemon
