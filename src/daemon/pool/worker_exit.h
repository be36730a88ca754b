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
  kRetiredForRestart,  // retired by a rolling restart (kRetiring)
  kRecycled,           // retired itself: --max-tasks-per-worker, --max-worker-rss-mib
  kKilledByDaemon,     // SIGKILLed by WorkerPool::Kill and died of it
  kCannotStart,        // kWorkerFatalExitCode: never respawned
  kCrashed,            // anything else: what the respawn brakes are for
};

// `entry` as it was just before the reap, `wait_status` from waitpid.
WorkerExit ClassifyWorkerExit(const WorkerEntry& entry, int wait_status);

}  // namespace taskpool::daemon
