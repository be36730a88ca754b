#include "daemon/pool/worker_exit.h"

#include <signal.h>
#include <sys/wait.h>

namespace taskpool::daemon {

WorkerExit ClassifyWorkerExit(const WorkerEntry& entry, int wait_status) {
  switch (entry.state) {
    case WorkerEntry::State::kStopping:
      return WorkerExit::kStoppedWithPool;
    case WorkerEntry::State::kRetiring:
      return WorkerExit::kRetiredForRestart;
    default:
      break;
  }
  // Killed on purpose, and of that kill: a worker that segfaulted before
  // our SIGKILL landed still crashed.
  if (entry.killed_by_daemon && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
    return WorkerExit::kKilledByDaemon;
  }
  if (WIFEXITED(wait_status)) {
    if (WEXITSTATUS(wait_status) == kWorkerRecycledExitCode) return WorkerExit::kRecycled;
    if (WEXITSTATUS(wait_status) == kWorkerFatalExitCode) return WorkerExit::kCannotStart;
  }
  return WorkerExit::kCrashed;
}

}  // namespace taskpool::daemon
