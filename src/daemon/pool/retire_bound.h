// How long a rolling restart waits for the worker it is retiring.
//
// A retiring worker was sent SIGTERM and finishes its task first. Two
// kinds of worker would hold the restart for ever ("already under way" on
// every later SIGHUP): a stopped one (SIGSTOP, a debugger), which runs
// nothing until SIGCONT, and one whose task never ends (no timeout). So:
//   - a stopped worker is killed once it has been retiring for
//     kStoppedRetireGrace: waiting longer cannot help it finish, and the
//     grace lets a SIGCONT already on its way land;
//   - any other is killed once it has been retiring for the bound, the
//     same --shutdown-timeout-ms a shutdown gives running tasks to finish.
// The kill is SIGKILL, which ends a stopped process too; its task settles
// as any worker death does (retried under max_retries, else WORKER_DIED).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>

namespace taskpool::daemon {

inline constexpr std::chrono::seconds kStoppedRetireGrace{2};
// How often the supervisor looks at the retiring worker.
inline constexpr std::chrono::milliseconds kRetireCheckInterval{250};

enum class RetireVerdict {
  kWait,
  kKillStopped,  // stopped for at least kStoppedRetireGrace of its retirement
  kKillOverdue,  // still there after `bound`
};

// A worker retiring for `retiring_for`, stopped or not (/proc), under the
// bound `bound` (--shutdown-timeout-ms).
RetireVerdict JudgeRetiring(std::chrono::steady_clock::duration retiring_for, bool stopped,
                            std::chrono::milliseconds bound);

}  // namespace taskpool::daemon
