// How tasks end: every terminal result the router sends goes through here,
// which is what keeps "exactly one result per accepted task".
//
//   finished     a worker returned: the result, its timings and attempts,
//                counted (a chunk item by item) and sent;
//   killed       the router killed the worker on purpose (timeout, cancel
//                with kill): the kill's outcome, whether the death or the
//                task's own result arrives first;
//   died         a worker died holding the task: retried (Submit.max_retries,
//                only while its client is connected, the daemon accepting
//                and no cancel asked), or WORKER_DIED naming the cause;
//   answered     a task without a slot (rejected, cancelled or expired
//                while waiting) gets its result at once;
//   remote       a task handed to another node (--cluster) ends with the
//                result that node sent, counted like one that ran here.
//
// Each ending forgets the task's record (releasing its gates) before its
// result goes out; a closed connection's results are only counted.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "daemon/route/client_table.h"
#include "daemon/route/deadline_watch.h"
#include "daemon/route/in_flight_table.h"
#include "daemon/route/router_clock.h"
#include "daemon/route/slow_log.h"
#include "daemon/route/task_queue_port.h"
#include "daemon/route/task_stats.h"
#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class TaskRegistry;

class Settlement {
 public:
  // Kills worker `index` (SIGKILL); its death then comes to OnWorkerDied.
  using KillWorker = std::function<void(uint32_t index)>;

  // Every reference must outlive this. `node`: this daemon's --node-name
  // with --cluster, which the results of tasks that ran here carry; empty
  // without.
  Settlement(TaskQueuePort& queue, InFlightTable& tasks, ClientTable& clients, TaskStats& stats,
             SlowLog& slow_log, DeadlineWatch& deadlines, RouterClock& clock,
             const TaskRegistry& registry, KillWorker kill_worker, std::string node = {});

  // A worker finished `finished` (from TaskQueuePort::CollectCompleted).
  void OnFinished(const FinishedTask& finished);

  // Worker `worker` (pid `pid`) died of `cause` ("killed by signal 9"):
  // settles the tasks it held. `may_retry`: false once the daemon stops
  // accepting.
  void OnWorkerDied(uint32_t worker, pid_t pid, const std::string& cause, bool may_retry);

  // Kills the worker running `task`; the task will end with `outcome`.
  // False (nothing done) if it is not running.
  bool KillRunning(RoutedTask& task, Status outcome);

  // Ends `task` (which has a slot) with `outcome`; a CANCELLED one counts
  // for task.cancel_reason.
  void Fail(RoutedTask& task, const Status& outcome);

  // Ends task `id` of `client`, which has no slot (waiting, or its enqueue
  // failed), with `outcome`, which counts for `reason` if CANCELLED.
  // `client` may be gone afterwards.
  void Answer(ClientState& client, uint32_t function, uint64_t id, uint32_t tasks,
              const Status& outcome, CancelReason reason = CancelReason::kFunction);

  // Ends task result.id() of `client` (null once its connection is gone),
  // which ran, or failed, elsewhere: `result` is what that node sent, its
  // output in result.output(). `function`, `tasks` and `chunk` are the
  // task's as it was handed over; a CANCELLED result counts for `reason`.
  void OnRemoteResult(ClientState* client, uint32_t function, uint32_t tasks, bool chunk,
                      v1::Result&& result, CancelReason reason);

  // Counts `tasks` of `function` that end without a result: dropped with
  // their closed connection (CANCELLED, "disconnect").
  void Drop(uint32_t function, uint32_t tasks);

  // Refuses a submission that never entered (its id is not `client`'s).
  void Reject(const ClientState& client, uint32_t function, uint64_t id, uint32_t tasks,
              const Status& outcome);

 private:
  // Counts `result` as `tasks` results of `function` (a registry index or
  // FunctionStats::kUnknownFunction) and sends it to `client` unless null.
  // `output` (valid for this call) goes out as its output uncopied.
  void Deliver(TaskClient* client, uint32_t function, v1::Result&& result, uint64_t tasks,
               std::string_view output = {}, CancelReason reason = CancelReason::kFunction);
  // Counts a run of task `id` of `function` that ended with `ok`: a chunk
  // that ran item by item, anything else as one run. Returns the results
  // left to count when the task's result is delivered (0 for a chunk that
  // ran: its items counted themselves).
  uint32_t CountRun(uint32_t function, uint64_t id, bool chunk, bool ok, uint32_t tasks,
                    std::string_view output, uint64_t queue_us, uint64_t run_us,
                    CancelReason reason);
  // Requeues `task`, which died on `worker`, for another attempt; false if
  // the queue refused.
  bool Retry(RoutedTask& task, uint32_t worker, pid_t pid, const std::string& cause);

  TaskQueuePort& queue_;
  InFlightTable& tasks_;
  ClientTable& clients_;
  TaskStats& stats_;
  SlowLog& slow_log_;
  DeadlineWatch& deadlines_;
  RouterClock& clock_;
  const TaskRegistry& registry_;
  KillWorker kill_worker_;
  const std::string node_;
};

// A result with no output: `id`, `outcome`'s code and message.
v1::Result MakeResult(uint64_t id, const Status& outcome);

}  // namespace taskpool::daemon
