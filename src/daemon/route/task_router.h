// The TaskRouter connects clients to the task queue: it turns each
// submission into a queued task (or an immediate rejection), remembers who
// asked for every task in flight, and delivers each task's one terminal
// result to its connection.
//
// Invariant: every task accepted here ends in exactly one Result sent to
// its connection (or dropped because the connection is gone).
//
// It is a coordinator; each job is a part of its own (see
// docs/architecture.md):
//   Admission        the checks a submission must pass, its gate keys
//   ConcurrencyGates lock keys, function limits, the per-user share
//   WaitingRoom      tasks held at their gates or waiting for room
//   Backpressure     pausing and resuming a connection's reading
//   ClientTable      the bookkeeping per connection (its tasks in flight)
//   InFlightTable    the tasks in the queue, by slot
//   DeadlineWatch    timeouts, deadlines and the tick that checks them
//   SlowLog          --slowlog-ms
//   Settlement       results, worker deaths, retries, kills
//   TaskStats        counters per daemon and per function
//   UserNames        uid -> name for status, cached
// It reaches the queue only through a TaskQueuePort, connections only
// through TaskClient, time only through a RouterClock and, with --cluster,
// other nodes only through a RemoteExecution, so it is tested without
// processes, sockets or waiting (tests/daemon/route).
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/config/daemon_config.h"
#include "daemon/route/admission.h"
#include "daemon/route/backpressure.h"
#include "daemon/route/client_table.h"
#include "daemon/route/concurrency_gates.h"
#include "daemon/route/deadline_watch.h"
#include "daemon/route/in_flight_table.h"
#include "daemon/route/remote_execution.h"
#include "daemon/route/router_clock.h"
#include "daemon/route/settlement.h"
#include "daemon/route/slow_log.h"
#include "daemon/route/task_client.h"
#include "daemon/route/task_queue_port.h"
#include "daemon/route/task_stats.h"
#include "daemon/route/user_names.h"
#include "daemon/route/waiting_room.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class TaskRegistry;

// What a TaskRouter may have replaced, for tests; the defaults are the
// daemon's.
struct TaskRouterOptions {
  UserNames::Lookup user_lookup = UserNames::LookUpInUserDatabase;
  SlowLog::Sink slow_log_sink;  // empty: the daemon's log
};

class TaskRouter {
 public:
  using KillWorker = Settlement::KillWorker;

  // Every reference must outlive the router. `kill_worker` SIGKILLs a
  // worker (timeouts, cancel with kill); its death comes to WorkerDied.
  TaskRouter(TaskQueuePort& queue, RouterClock& clock, const TaskRegistry& registry,
             const DaemonConfig& config, KillWorker kill_worker, TaskRouterOptions options = {});

  // Accepts a task from `client`, or answers it right away with a
  // rejection (SHUTTING_DOWN, DUPLICATE_ID, UNKNOWN_FUNCTION,
  // PAYLOAD_TOO_LARGE, QUEUE_FULL when asked to fail fast). `client` is
  // held until ConnectionClosed.
  void Submit(TaskClient& client, const v1::Submit& submit);

  // Cancels a queued or waiting task (CANCELLED). A running task is asked
  // to stop early (Context::cancelled() turns true) and its result, whatever
  // the function returns, is delivered; unless the cancel asks to kill it:
  // then its worker is killed and replaced, and the task ends CANCELLED.
  void Cancel(const TaskClient& client, const v1::Cancel& cancel);

  // Withdraws the connection's queued tasks; its running tasks are asked to
  // stop early (Context::cancelled()) and their results are dropped.
  void ConnectionClosed(const TaskClient& client);

  // Whether connection `client_id` has tasks not yet answered.
  bool HasTasksInFlight(uint64_t client_id) const;

  // What `client` holds itself changed (it queued replies of its own, or
  // wrote some): pauses or resumes its reading against
  // --max-connection-memory-mib (see Backpressure).
  void ConnectionBuffersChanged(TaskClient& client);
  // Bytes the router holds for the tasks of connection `client_id` (their
  // submissions, here or in the queue).
  uint64_t HeldBytes(uint64_t client_id) const;

  // Delivers every finished task, then admits waiting submissions.
  void CollectResults();

  // Settles the tasks worker `worker` held when it died: retried if allowed,
  // otherwise WORKER_DIED naming `cause`.
  void WorkerDied(uint32_t worker, pid_t pid, const std::string& cause);

  // Further submissions are answered SHUTTING_DOWN.
  void StopAccepting() { accepting_ = false; }
  // Ends every task not yet running with CANCELLED naming `reason`,
  // counted for `why`.
  void CancelNotRunning(const std::string& reason, CancelReason why);
  // Asks every running task to stop early (Context::cancelled()); one that
  // ends CANCELLED then counts for "shutdown".
  void RequestCancelRunning();

  // Reload: takes the function limits and the per-user share from the
  // config (read again) and lets held tasks that now fit go on. The other
  // options it reads (timeouts, slow log, in-flight limit) are read from
  // the config at each use already.
  void ReloadLimits();
  // Functions 0..count-1 are in every worker's registry; tasks of later
  // ones (a plugin a reload added) wait until they are (see Admission).
  void SetFunctionsOnEveryWorker(uint32_t count);

  // One entry per client user with tasks accepted and not yet answered,
  // sorted by uid.
  void FillUsers(v1::StatusReply* status);

  // With --cluster: where tasks this node cannot start now may go (null:
  // nowhere, the default). REQUIRES: `remote` outlives the router.
  void SetRemoteExecution(RemoteExecution* remote) { remote_ = remote; }
  // The one result of a task handed to RemoteExecution::Publish by
  // connection `client_id`; `function_index`, `tasks` and `chunk` are the
  // task's, as handed over. result.output() goes out as the output.
  void DeliverRemoteResult(uint64_t client_id, uint32_t function_index, uint32_t tasks, bool chunk,
                           v1::Result&& result);
  // A task the work queue refused: runs it here after all (or answers
  // UNKNOWN_FUNCTION if only other nodes have its function). Dropped if
  // its connection closed meanwhile.
  void RunHere(RemoteSubmission task);

  // Tasks accepted and not yet answered (queued, waiting, running, or
  // handed to another node).
  size_t in_flight() const {
    return tasks_.size() + waiting_.size() + (remote_ != nullptr ? remote_->in_flight() : 0);
  }
  // Of those, the ones of connection `client_id`.
  size_t TasksInFlight(uint64_t client_id) const;
  // Of those, the ones without a queue slot yet.
  size_t waiting() const { return waiting_.size(); }
  const OutcomeCounts& counters() const { return stats_.counters(); }
  const TaskStats& stats() const { return stats_; }
  const FunctionStats& function_stats() const { return stats_.functions(); }

  // What a busy worker is running: the task's id (as its client chose it)
  // and the client's pid.
  struct RunningTask {
    uint64_t id = 0;
    pid_t client_pid = 0;
  };
  // The running task of each busy worker, by worker index.
  std::unordered_map<uint32_t, RunningTask> RunningTasks() const;

 private:
  // Queues a task that passed its gates, or makes it wait for room, or
  // (with `may_publish` and a cluster) hands it to another node when no
  // worker here is free. `tasks`: what the submission counts as (a chunk:
  // its items). `function_index` is kUnknownFunction for a task only other
  // nodes can run.
  void Admit(ClientState& client, const v1::Submit& submit, uint32_t function_index, uint32_t tasks,
             std::chrono::steady_clock::time_point accepted, ConcurrencyGates::Pass pass,
             bool may_publish = true);
  // Whether a submission this node cannot run (`function`, the registry's
  // answer, is an error) may still go to another node.
  bool RunsElsewhere(const ClientState& client, const v1::Submit& submit,
                     const Status& function) const;
  // Whether a worker here has no task: fewer tasks in the queue than workers.
  bool WorkerFreeHere() const { return tasks_.size() < config_.workers; }
  // Hands the task to another node if it should leave this node now; true
  // if it did (`pass` went with it).
  bool TryPublish(ClientState& client, const v1::Submit& submit, uint32_t function_index,
                  uint32_t tasks, std::chrono::steady_clock::time_point accepted,
                  ConcurrencyGates::Pass& pass);
  // Puts a task into the queue; false (and `pass` untouched) if the queue
  // is full. Any other failure answers the task.
  bool Enqueue(ClientState& client, const v1::Submit& submit, uint32_t function_index,
               uint32_t tasks, std::chrono::steady_clock::time_point accepted,
               ConcurrencyGates::Pass& pass);
  // Where `submit`'s input lies in `client`'s payload arena.
  static ArenaSlice ArenaSliceOf(const TaskClient& client, const v1::Submit& submit);
  // What the task's code is told of its limits.
  RunLimits LimitsFor(const std::optional<std::chrono::steady_clock::time_point>& deadline,
                      std::chrono::milliseconds timeout) const;
  // Queues waiting tasks while there is room, then lets held tasks whose
  // gates opened go on.
  void AdmitWaiting();
  // The tick: timeouts, deadlines and the slow log.
  void CheckTimers();
  void CheckTimer(RoutedTask& task, std::chrono::steady_clock::time_point now);

  TaskQueuePort& queue_;
  RouterClock& clock_;
  const TaskRegistry& registry_;
  const DaemonConfig& config_;
  RemoteExecution* remote_ = nullptr;  // with --cluster
  bool accepting_ = true;
  // While CancelNotRunning ends the remote tasks: why.
  std::optional<CancelReason> ending_all_for_;
  // Declared before every holder of a Pass or a ClientState*.
  ConcurrencyGates gates_;
  ClientTable clients_;
  Admission admission_;
  TaskStats stats_;
  SlowLog slow_log_;
  DeadlineWatch deadlines_;
  InFlightTable tasks_;
  WaitingRoom waiting_;
  Backpressure backpressure_;
  Settlement settlement_;
  UserNames user_names_;
};

}  // namespace taskpool::daemon
