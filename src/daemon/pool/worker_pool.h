// The process table: one entry per worker slot, holding its pid, state and
// history. An entry's index is the worker index used in the shared-memory
// queue; the slot is taken before fork() and keeps its index across
// respawns (as nginx's ngx_processes and php-fpm's scoreboard do).
//
// The table has room for more entries than the pool has workers (see
// RoomFor): a reload may grow the pool into them, and a rolling restart
// forks each replacement into a spare entry before it retires the worker
// being replaced, so the pool never runs short during the restart.
//
// An entry's index is where its process sits in the queue; its number
// (0..size-1) is the worker's place in the pool, which a replacement takes
// over from the worker it replaces. Numbers are what people and metrics
// see, so they stay the same across reloads and respawns.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "daemon/pool/oom_kills.h"
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

  // Why a retiring worker was asked to go.
  enum class Retirement { kNone, kReplaced, kScaledDown };

  uint32_t index = 0;
  uint32_t number = 0;  // its place in the pool; see the file comment
  pid_t pid = 0;
  State state = State::kSpare;
  uint32_t restarts = 0;        // times this slot was respawned
  std::string last_exit;        // why the previous process ended
  base::SteadyTime started;    // when it was forked
  Retirement retirement = Retirement::kNone;  // while kRetiring
  uint32_t functions = 0;  // the registry's size when it was forked
  // Kill() sent this process its SIGKILL (a timeout, a deadline, a cancel
  // with kill): its death is the daemon's doing, not a crash.
  bool killed_by_daemon = false;
  // Why, if Kill() was told: added to last_exit when the kill lands.
  std::string kill_note;
};

class WorkerPool {
 public:
  // A pool of `size` workers in a table of RoomFor(size) entries, each
  // attached to the queue's `segment` after fork. REQUIRES: `segment`
  // outlives the pool.
  WorkerPool(const shmq::Segment& segment, const TaskRegistry& registry, uint32_t size,
             WorkerLimits limits);

  // Entries for a pool started with `size` workers, spares included: what
  // the queue's max_workers must be. A reload can grow the pool up to one
  // less than this (one entry stays spare for rolling restarts); beyond
  // it the queue must be made again, which takes a restart.
  static uint32_t RoomFor(uint32_t size) { return std::max(2 * size, 8u) + 1; }
  uint32_t max_size() const { return static_cast<uint32_t>(entries_.size()) - 1; }
  uint32_t size() const { return size_; }

  // Forks every worker. REQUIRES: the process is single-threaded.
  Status StartAll();

  // Reload: forks the workers numbered size()..size-1 into spare entries.
  // REQUIRES: size <= max_size().
  Status GrowTo(uint32_t size);
  // Reload: asks the workers numbered `size` and above to retire (they
  // finish their task first); those waiting to be respawned are dropped.
  void ShrinkTo(uint32_t size);
  // What forks from now on run with (reload).
  void SetLimits(WorkerLimits limits) { limits_ = limits; }

  // Forks a new process into exited slot `index`.
  Status Respawn(uint32_t index);

  // Forks a replacement for worker `index` into a spare entry, under the
  // same number, then asks `index` to retire. Returns the replacement's
  // index.
  Result<uint32_t> Replace(uint32_t index);

  // Reaps every exited child without blocking and calls
  // `on_exit(index, cause, wait_status)` for each worker among them, where
  // cause reads like "killed by signal 9 (SIGKILL)" or "exited with status 3",
  // with what is known of who killed it: the daemon's note (Kill), or the
  // kernel's OOM killer (oom_kills.h).
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
  // of its shell job; marks it killed_by_daemon. `note` ("by the rolling
  // restart, ...") follows the cause in last_exit, and so in what its task
  // is told.
  void Kill(uint32_t index, std::string note = {});

  // How many functions (registry indices 0..n-1) every worker process has:
  // a plugin loaded by a reload reaches only the workers forked after it.
  uint32_t FunctionsOnEveryWorker() const;

  // Workers with a process (running, retiring or stopping).
  size_t live_count() const;
  const std::vector<WorkerEntry>& entries() const { return entries_; }

  // Children of the supervisor that are neither workers nor a dead
  // worker's strays (the cluster agent): KillStrayChildren spares them.
  void SetOtherChildren(std::function<bool(pid_t)> is_other_child) {
    is_other_child_ = std::move(is_other_child);
  }

 private:
  Status Fork(WorkerEntry& entry);
  bool IsWorkerProcess(pid_t pid) const;
  std::optional<uint32_t> SpareIndex() const;

  const shmq::Segment& segment_;
  const TaskRegistry& registry_;
  std::function<bool(pid_t)> is_other_child_;
  OomKillCounter oom_kills_;
  WorkerLimits limits_;
  std::vector<WorkerEntry> entries_;
  uint32_t size_ = 0;  // workers numbered 0..size_-1
};

// "killed by signal 9 (SIGKILL)", "exited with status 3".
std::string DescribeWaitStatus(int wait_status);

}  // namespace taskpool::daemon
