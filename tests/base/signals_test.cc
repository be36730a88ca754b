#include "base/signals.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>

namespace taskpool::base {
namespace {

volatile sig_atomic_t g_delivered = 0;
void CountDelivery(int) { g_delivered = g_delivered + 1; }

sigset_t CurrentMask() {
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  return mask;
}

bool IsBlocked(int signal_number) {
  const sigset_t mask = CurrentMask();
  return sigismember(&mask, signal_number) == 1;
}

bool NothingBlocked() {
  const sigset_t mask = CurrentMask();
  return sigisemptyset(&mask) == 1;
}

void (*HandlerOf(int signal_number))(int) {
  struct sigaction action {};
  sigaction(signal_number, nullptr, &action);
  return action.sa_handler;
}

// Runs `check` in a forked child, so the test process's own dispositions
// stay as they were; the child's exit status is how many checks failed.
int FailuresInChild(const std::function<int()>& check) {
  const pid_t pid = fork();
  if (pid == 0) _exit(check());
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "the child died: wait status " << status;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What a worker is forked with: handlers, ignored signals and a mask.
void DisturbSignals() {
  struct sigaction action {};
  action.sa_handler = CountDelivery;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);
  action.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &action, nullptr);
  const sigset_t term = SignalSetOf({SIGTERM});
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
}

TEST(SignalsTest, SignalSetOfHoldsExactlyTheSignalsGiven) {
  const sigset_t set = SignalSetOf({SIGTERM, SIGHUP});
  EXPECT_EQ(sigismember(&set, SIGTERM), 1);
  EXPECT_EQ(sigismember(&set, SIGHUP), 1);
  EXPECT_EQ(sigismember(&set, SIGINT), 0);
  const sigset_t none = SignalSetOf({});
  EXPECT_EQ(sigisemptyset(&none), 1);
}

TEST(SignalsTest, ResetRestoresDefaultActionsAndAnEmptyMask) {
  EXPECT_EQ(FailuresInChild([] {
              DisturbSignals();
              ResetSignalsToDefaults();
              return (HandlerOf(SIGUSR1) != SIG_DFL) + (HandlerOf(SIGUSR2) != SIG_DFL) +
                     !NothingBlocked();
            }),
            0);
}

TEST(SignalsTest, IgnoredSignalsDoNotKill) {
  EXPECT_EQ(FailuresInChild([] {
              IgnoreSignals({SIGUSR1, SIGPIPE});
              raise(SIGUSR1);  // the default action would end the child
              raise(SIGPIPE);
              return (HandlerOf(SIGUSR1) != SIG_IGN) + (HandlerOf(SIGPIPE) != SIG_IGN);
            }),
            0);
}

TEST(SignalsTest, BlockHoldsSignalsUntilItEndsAndRestoresTheMask) {
  EXPECT_EQ(FailuresInChild([] {
              DisturbSignals();  // SIGTERM blocked before, as in a busy worker
              int failures = 0;
              {
                ScopedSignalBlock block;
                failures += !IsBlocked(SIGUSR1) + !IsBlocked(SIGCHLD) + !IsBlocked(SIGINT);
                raise(SIGUSR1);
                failures += g_delivered != 0;  // held while blocked
              }
              // Unblocking delivers a pending signal before the call returns.
              failures += g_delivered != 1;
              failures += !IsBlocked(SIGTERM) + IsBlocked(SIGUSR1);
              return failures;
            }),
            0);
}

TEST(SignalsTest, AChildForkedUnderTheBlockStartsBlockedUntilItResets) {
  EXPECT_EQ(FailuresInChild([] {
              DisturbSignals();
              ScopedSignalBlock block;
              const pid_t pid = fork();
              if (pid == 0) {
                int failures = !IsBlocked(SIGUSR1);
                ResetSignalsToDefaults();
                failures += HandlerOf(SIGUSR1) != SIG_DFL;
                failures += !NothingBlocked();
                _exit(failures);
              }
              int status = 0;
              if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 100;
              return WEXITSTATUS(status);
            }),
            0);
}

}  // namespace
}  // namespace taskpool::base
