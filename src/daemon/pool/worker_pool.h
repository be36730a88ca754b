// The process table: one entry per worker slot, holding its pid, state and
// history. An entry's index is the worker index used in the shared-memory
// queue; the slot is taken before fork() and keeps its index across
// respawns (as nginx's ngx_processes and php-fpm's scoreboard do).
//
// The table has one entry more than the pool has workers: the spare, into
// which a rolling restart forks a replacement before it retires the worker
// being replaced, so the pool never runs short during the restart.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "daemon/pool/worker_main.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {
class Segment;
}  // namespace taskpool::shmq

namespace taskpool::daemon {
class TaskRegistry;

struct WorkerEntry {
  enum class State {
    kSpare,     // no process; not part of the pool
    kRunning,   // serving tasks
    kRetiring,  // asked to finish its task and exit (SIGTERM)
    kStopping,  // being stopped with the pool
    kExited,    // reaped; waiting to be respawned (or never, if fatal)
  };

  uint32_t index = 0;
  pid_t pid = 0;
  State state = State::kSpare;
  uint32_t restarts = 0;        // times this slot was respawned
  std::string last_exit;        // why the previous process ended
  base::SteadyTime started;    // when it was forked
  // Kill() sent this process its SIGKILL (a timeout, a deadline, a cancel
  // with kill): its death is the daemon's doing, not a crash.
  bool killed_by_daemon = false;
};

class WorkerPool {
 public:
  // A pool of `size` workers (plus the spare entry), each attached to the
  // queue's `segment` after fork. REQUIRES: `segment` outlives the pool.
  WorkerPool(const shmq::Segment& segment, const TaskRegistry& registry, uint32_t size,
             WorkerLimits limits);

  // Number of entries, spare included: what the queue's max_workers must be.
  static uint32_t EntriesFor(uint32_t size) { return size + 1; }

  // Forks every worker. REQUIRES: the process is single-threaded.
  Status StartAll();

  // Forks a new process into exited slot `index`.
  Status Respawn(uint32_t index);

  // Forks a replacement for worker `index` into the spare entry, then asks
  // `index` to retire. Returns the replacement's index.
  Result<uint32_t> Replace(uint32_t index);

  // Reaps every exited child without blocking and calls
  // `on_exit(index, cause, wait_status)` for each worker among them, where
  // cause reads like "killed by signal 9 (SIGKILL)" or "exited with status 3".
  // The entry's state at that moment tells why it was expected to exit
  // (kRetiring, kStopping) or not (kRunning).
  using ExitHandler = std::function<void(const WorkerEntry& entry,
                                         const std::string& cause, int wait_status)>;
  void ReapExited(const ExitHandler& on_exit);

  // Marks an exited entry as the spare (after a retirement).
  void MakeSpare(uint32_t index);

  // Stops the whole pool: SIGTERM lets idle workers exit and busy ones
  // finish their task; SIGKILL ends them at once, and their shell jobs.
  void StopAll(int signal_number);
  // Sends SIGKILL to one worker, if it has a process, and to every process
  // of its shell job; marks it killed_by_daemon.
  void Kill(uint32_t index);

  // Workers with a process (running, retiring or stopping).
  size_t live_count() const;
  const std::vector<WorkerEntry>& entries() const { return entries_; }

 private:
  Status Fork(WorkerEntry& entry);
  bool IsWorkerProcess(pid_t pid) const;
  std::optional<uint32_t> SpareIndex() const;

  const shmq::Segment& segment_;
  const TaskRegistry& registry_;
  const WorkerLimits limits_;
  std::vector<WorkerEntry> entries_;
};

// "killed by signal 9 (SIGKILL)", "exited with status 3".
std::string DescribeWaitStatus(int wait_status);

}  // namespace taskpool::daemon
