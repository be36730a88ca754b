// Timeouts and deadlines: which tasks the router's tick must look at, the
// tick itself, and what a task has overrun when it looks.
//
// A task is watched while it has a deadline (Submit.deadline_ms, from its
// acceptance), a running-time limit (Submit.timeout_ms or --task-timeout-ms,
// from its worker's start) or a slow-log line to come. The tick runs every
// kTick while anything is watched, or while a waiting task has a deadline;
// a task then overdue is failed (still queued: EXPIRED) or its worker
// killed (running: TIMEOUT) by the router.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "daemon/route/in_flight_table.h"
#include "daemon/route/router_clock.h"
#include "daemon/route/slow_log.h"
#include "daemon/route/task_queue_port.h"
#include "daemon/route/waiting_room.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

class DeadlineWatch {
 public:
  // How often the tick looks while anything is watched.
  static constexpr std::chrono::milliseconds kTick{10};

  // `on_tick` is what the tick does (TaskRouter::CheckTimers).
  DeadlineWatch(RouterClock& clock, const SlowLog& slow_log, std::function<void()> on_tick);

  // Whether the tick must look at `task`.
  bool NeedsWatching(const RoutedTask& task) const {
    return task.deadline || task.timeout.count() != 0 || slow_log_.Awaits(task);
  }

  // Watches the task at slot index `index` and arms the tick.
  void Watch(uint32_t index);
  // Arms the tick unless it is armed already.
  void Arm();

  // Calls `check` on every watched task of `tasks`; forgets the ones that
  // need no more watching, or that `check` settled.
  template <typename Check>
  void CheckWatched(InFlightTable& tasks, Check check);

  bool watching() const { return !watched_.empty(); }

  // What `task` has overrun at `now`, if anything: EXPIRED for one still
  // queued past its deadline (`run` null), TIMEOUT for one running
  // (`run`: its worker's activity) past its timeout or its deadline.
  static std::optional<Status> Overrun(const RoutedTask& task, const WorkerRun* run,
                                       std::chrono::steady_clock::time_point now);
  // EXPIRED if `task`, not yet queued, is past its deadline at `now`.
  static std::optional<Status> Overrun(const WaitingTask& task,
                                       std::chrono::steady_clock::time_point now);

 private:
  RouterClock& clock_;
  const SlowLog& slow_log_;
  std::function<void()> on_tick_;
  bool armed_ = false;
  // Slot indices of watched tasks (may hold stale or repeated entries; the
  // tick prunes them).
  std::vector<uint32_t> watched_;
};

template <typename Check>
void DeadlineWatch::CheckWatched(InFlightTable& tasks, Check check) {
  std::erase_if(watched_, [&](uint32_t index) {
    RoutedTask* task = tasks.AtIndex(index);
    if (task == nullptr || !NeedsWatching(*task)) return true;
    check(*task);
    return tasks.AtIndex(index) == nullptr;  // settled by the check
  });
}

}  // namespace taskpool::daemon
