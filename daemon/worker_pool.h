// The process table: one entry per worker slot, holding its pid, state and
// history. An entry's index is the worker index used in the shared-memory
// queue; the slot is taken before fork() and keeps its index across
// respawns (as nginx's ngx_processes and php-fpm's scoreboard do).
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool {

class TaskQueue;
class TaskRegistry;

struct WorkerEntry {
  enum class State { kRunning, kStopping, kExited };

  uint32_t index = 0;
  pid_t pid = 0;
  State state = State::kExited;
  uint32_t restarts = 0;        // times this slot was respawned
  std::string last_exit;        // why the previous process ended
  std::chrono::steady_clock::time_point started;
};

class WorkerPool {
 public:
  WorkerPool(TaskQueue& queue, const TaskRegistry& registry, uint32_t size);

  // Forks every worker. REQUIRES: the process is single-threaded.
  Status StartAll();

  // Forks a new process into slot `index` (after its previous one exited).
  Status Respawn(uint32_t index);

  // Reaps every exited child without blocking and calls
  // `on_exit(index, cause)` for each worker among them, where cause reads
  // like "killed by signal 9 (SIGKILL)" or "exited with status 3".
  using ExitHandler = std::function<void(uint32_t index, const std::string& cause,
                                         int wait_status)>;
  void ReapExited(const ExitHandler& on_exit);

  // Sends `signal_number` to every live worker and marks it stopping.
  void SignalAll(int signal_number);
  // Sends a signal to one worker, if alive.
  void Signal(uint32_t index, int signal_number);

  size_t live_count() const;
  const std::vector<WorkerEntry>& entries() const { return entries_; }

 private:
  Status Fork(WorkerEntry& entry);

  TaskQueue& queue_;
  const TaskRegistry& registry_;
  std::vector<WorkerEntry> entries_;
};

// "killed by signal 9 (SIGKILL)", "exited with status 3".
std::string DescribeWaitStatus(int wait_status);

}  // namespace taskpool
