// The slow log (--slowlog-ms), like PHP-FPM's: a task still running past
// the threshold is logged once, by the router's tick, and once more when
// it ends. Each line says who asked, what runs where and for how long;
// never the payload.
//
//   slowlog: task 7 (sleep, connection 3, client pid 812) still running
//     after 1004 ms on worker 1 (pid 820; --slowlog-ms 1000)
//   slowlog: task 7 (sleep, connection 3, client pid 812) ended OK after a
//     run of 2001 ms on worker pid 820
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "daemon/route/in_flight_table.h"
#include "daemon/route/task_queue_port.h"

namespace taskpool::daemon {

class TaskRegistry;

class SlowLog {
 public:
  // Where lines go; by default a warning in the daemon's log.
  using Sink = std::function<void(const std::string& line)>;

  // `threshold` (0: off) is read at each use, so a reload that changes it
  // applies at once; it must outlive this.
  SlowLog(const std::chrono::milliseconds& threshold, const TaskRegistry& registry,
          Sink sink = {});

  bool enabled() const { return threshold_.count() != 0; }
  // Whether `task` still has a start line to come (the tick must watch it).
  bool Awaits(const RoutedTask& task) const { return enabled() && !task.slow_logged; }

  // From the tick: `task` runs on worker `worker` (`run`); logs its start
  // line, once, when it has run past the threshold.
  void CheckRunning(RoutedTask& task, uint32_t worker, const WorkerRun& run,
                    std::chrono::steady_clock::time_point now);

  // Its run ended (`outcome`: "ended OK", "ended (worker killed by signal
  // 9)"), if the start line was written.
  void LogEnd(const RoutedTask& task, std::string_view outcome,
              std::chrono::steady_clock::duration run_time, pid_t worker_pid);
  // The same for a run that returned with `code`.
  void LogEndOfRun(const RoutedTask& task, ErrorCode code, const FinishedTask& finished);

 private:
  // "task 7 (sleep, connection 3, client pid 812)"
  std::string Describe(const RoutedTask& task) const;

  const std::chrono::milliseconds& threshold_;
  const TaskRegistry& registry_;
  Sink sink_;
};

}  // namespace taskpool::daemon
