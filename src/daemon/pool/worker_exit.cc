#include "daemon/pool/worker_exit.h"

#include <signal.h>
#include <sys/wait.h>

namespace taskpool::daemon {

WorkerExit ClassifyWorkerExit(const WorkerEntry& entry, int wait_status) {
  switch (entry.state) {
    case WorkerEntry::State::kStopping:
      return WorkerExit::kStoppedWithPool;
    case WorkerEntry::State::kRetiring:
      return entry.retirement == WorkerEntry::Retirement::kScaledDown
                 ? WorkerExit::kScaledDown
                 : WorkerExit::kRetiredForRestart;
    default:
      break;
  }
  // Killed on purpose, and of that kill: a worker that segfaulted before
  // our SIGKILL landed still crashed.
  if (entry.killed_by_daemon && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
    return WorkerExit::kKilledByDaemon;
  }
  if (WIFEXITED(wait_status)) {
    if (WEXITSTATUS(wait_status) == kWorkerRecycledExitCode) return WorkerExit::kRecycledMaxTasks;
    if (WEXITSTATUS(wait_status) == kWorkerRecycledRssExitCode) return WorkerExit::kRecycledMaxRss;
    if (WEXITSTATUS(wait_status) == kWorkerOutOfMemoryExitCode) return WorkerExit::kOutOfMemory;
    if (WEXITSTATUS(wait_status) == kWorkerFatalExitCode) return WorkerExit::kCannotStart;
  }
  return WorkerExit::kCrashed;
}

const char* ReplacementReason(WorkerExit exit) {
  switch (exit) {
    case WorkerExit::kRetiredForRestart:
      return "reload";
    case WorkerExit::kRecycledMaxTasks:
      return "max_tasks";
    case WorkerExit::kRecycledMaxRss:
      return "max_rss";
    case WorkerExit::kOutOfMemory:
      return "out_of_memory";
    case WorkerExit::kKilledByDaemon:
      return "killed";
    case WorkerExit::kStoppedWithPool:
    case WorkerExit::kScaledDown:
    case WorkerExit::kCannotStart:
    case WorkerExit::kCrashed:
      break;
  }
  return nullptr;
}

bool IsDeath(WorkerExit exit) {
  return exit == WorkerExit::kCannotStart || exit == WorkerExit::kCrashed;
}

}  // namespace taskpool::daemon
