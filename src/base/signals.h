// Signal dispositions around fork(). A forked child inherits its parent's
// handlers (the supervisor's are Asio's, which would write into the
// supervisor's signal pipe), its ignored signals (which even survive exec)
// and its signal mask. So every fork here goes
//
//   {
//     base::ScopedSignalBlock block;   // nothing can arrive in between
//     pid = fork();
//     if (pid == 0) { base::ResetSignalsToDefaults(); ...; }
//   }
//
// Everything here is async-signal-safe (sigaction, sigprocmask and
// pthread_sigmask only), so it may run in a child of a threaded process.
#pragma once

#include <signal.h>

#include <initializer_list>

namespace taskpool::base {

// Every signal's action back to SIG_DFL and the calling thread's mask
// emptied: what a freshly exec'd program starts with.
void ResetSignalsToDefaults();

// Sets each of `signals` to SIG_IGN.
void IgnoreSignals(std::initializer_list<int> signals);

// A set holding exactly `signals`, for masks (sigprocmask, ppoll).
sigset_t SignalSetOf(std::initializer_list<int> signals);

// Blocks every signal in the calling thread while it lives, and restores
// the mask it found when destroyed. Around fork(), so the child cannot
// receive a signal before it has reset what it inherited; the child leaves
// the guard's scope only through exec or _exit, or after
// ResetSignalsToDefaults.
class ScopedSignalBlock {
 public:
  ScopedSignalBlock();
  ~ScopedSignalBlock();
  ScopedSignalBlock(const ScopedSignalBlock&) = delete;
  ScopedSignalBlock& operator=(const ScopedSignalBlock&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace taskpool::base
