#include "base/signals.h"

#include <pthread.h>

namespace taskpool::base {

void ResetSignalsToDefaults() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    // Fails, harmlessly, for SIGKILL, SIGSTOP and the numbers glibc keeps
    // for itself.
    sigaction(signal_number, &action, nullptr);
  }
  const sigset_t none = SignalSetOf({});
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

void IgnoreSignals(std::initializer_list<int> signals) {
  struct sigaction action {};
  action.sa_handler = SIG_IGN;
  sigemptyset(&action.sa_mask);
  for (int signal_number : signals) sigaction(signal_number, &action, nullptr);
}

sigset_t SignalSetOf(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int signal_number : signals) sigaddset(&set, signal_number);
  return set;
}

ScopedSignalBlock::ScopedSignalBlock() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &saved_);
}

ScopedSignalBlock::~ScopedSignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

}  // namespace taskpool::base
