// The tasks that have a queue slot (queued or running), by slot index.
//
// A slot index is below the queue's capacity, so the table is a vector
// indexed by it: finding a task's record when its result arrives is one
// index and a generation check, with no hashing and no allocation.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/route/cancel_reason.h"
#include "daemon/route/client_table.h"
#include "daemon/route/concurrency_gates.h"
#include "daemon/route/task_queue_port.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// What the router remembers of a task in the queue.
struct RoutedTask {
  ClientState* client = nullptr;  // who asked; outlives the task
  uint64_t client_id = 0;         // the id its client chose
  TaskSlot slot;
  uint32_t function_index = 0;
  uint32_t attempts = 1;
  uint32_t max_retries = 0;
  uint32_t items = 1;  // tasks it counts as (a chunk: its items)
  bool chunk = false;  // Submit.chunk: its output holds items
  // Its client cancelled it while running, without kill: a worker death
  // then ends it rather than retrying it.
  bool cancel_requested = false;
  // Who asked it to stop first (a Cancel, its connection closing, the
  // shutdown): what a CANCELLED end of it counts for. None: nobody, so a
  // CANCELLED from its function counts for "function".
  std::optional<CancelReason> cancel_reason;
  bool slow_logged = false;                          // the slow log reported it running
  std::chrono::steady_clock::time_point accepted{};  // when the daemon read it
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::milliseconds timeout{0};                  // running-time limit; 0: none
  std::chrono::steady_clock::time_point slow_started{};  // its run's start, once slow_logged
  // Set when we killed its worker on purpose: the outcome to report when
  // the death arrives, instead of WORKER_DIED (and no retry).
  std::optional<std::pair<ErrorCode, std::string>> kill_outcome;
  ConcurrencyGates::Pass pass;  // its lock key, function limit, user share
};

class InFlightTable {
 public:
  // Room for `capacity` slots is reserved, not filled: a RoutedTask is a
  // couple of hundred bytes, so filling it would write megabytes at a
  // large capacity before the first task. The vector grows within the
  // reservation, so it never reallocates and references stay valid.
  explicit InFlightTable(uint32_t capacity);

  // Stores `task` at its slot. REQUIRES: task.slot.index < capacity and
  // nothing stored there.
  RoutedTask& Store(RoutedTask task);

  // The task at `slot` (index and generation), or null.
  RoutedTask* Find(TaskSlot slot);
  // The task at slot index `index`, of any generation, or null.
  RoutedTask* AtIndex(uint32_t index);

  // Forgets the task at `slot` (releasing its gates). A stale slot is
  // ignored.
  void Forget(TaskSlot slot);

  size_t size() const { return size_; }

  // Calls `visit` on every task, by slot index. `visit` may Forget the task
  // it is given, but store nothing.
  template <typename Visit>
  void ForEach(Visit visit) {
    for (std::optional<RoutedTask>& task : tasks_) {
      if (task) visit(*task);
    }
  }
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const std::optional<RoutedTask>& task : tasks_) {
      if (task) visit(*task);
    }
  }

 private:
  std::vector<std::optional<RoutedTask>> tasks_;
  size_t size_ = 0;  // engaged entries
};

}  // namespace taskpool::daemon
