// Why a reaped worker ended, as the supervisor must treat it.
//
// Only a death the daemon did not cause is a crash: the respawn back-off
// and the crash-rate alarm (RespawnPolicy) see crashes and nothing else.
// A worker the daemon killed itself, for a task's timeout, deadline or a
// cancel with kill, is replaced at once: a client can ask for such kills at
// will, and counting them would let one client's 1 ms timeouts put every
// worker into back-off and delay everyone else's tasks.
//
// Thread-safety: a pure function.
#pragma once

#include "daemon/pool/worker_pool.h"

namespace taskpool::daemon {

enum class WorkerExit {
  kStoppedWithPool,    // stopped with the pool at shutdown (kStopping)
  kScaledDown,         // retired because a reload asked for fewer workers
  kRetiredForRestart,  // retired by a rolling restart (kRetiring)
  kRecycledMaxTasks,   // retired itself: --max-tasks-per-worker
  kRecycledMaxRss,     // retired itself: --max-worker-rss-mib
  kOutOfMemory,        // retired itself: a task ran out of memory under
                       // --worker-memory-limit-mib
  kKilledByDaemon,     // SIGKILLed by WorkerPool::Kill and died of it
  kCannotStart,        // kWorkerFatalExitCode: never respawned
  kCrashed,            // anything else: what the respawn brakes are for
};

// The reason a planned end is counted under in
// taskpool_workers_replaced_total ("reload", "max_tasks", "max_rss",
// "out_of_memory", "killed"), or null for an exit that replaces nothing (the pool stopping
// or shrinking) or is a death (cannot start, crashed).
const char* ReplacementReason(WorkerExit exit);
// Whether `exit` counts in taskpool_workers_died_total: a death nobody
// asked for.
bool IsDeath(WorkerExit exit);

// `entry` as it was just before the reap, `wait_status` from waitpid.
WorkerExit ClassifyWorkerExit(const WorkerEntry& entry, int wait_status);

}  // namespace taskpool::daemon
