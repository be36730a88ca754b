// The TaskRouter connects clients to the shared-memory queue: it turns each
// submission into a queued task (or an immediate rejection), remembers who
// asked for every task in flight, and delivers each task's one terminal
// result to its connection.
//
// Invariant: every task accepted here ends in exactly one Result sent to
// its connection (or dropped because the connection is gone).
//
// Concurrency: a submission's lock key, its function's --limit and its
// client user's share (--max-in-flight-per-user) are gates
// (ConcurrencyGates); a task that cannot pass them yet is held here
// without a queue slot. Tasks sharing a gate key keep their submission
// order; tasks with other keys go ahead of them, so one user flooding the
// pool waits behind its own share while other users' tasks are queued.
//
// Slow log (--slowlog-ms): a task still running past the threshold is
// logged once by the timer tick, and once more when it ends.
//
// Backpressure: when the queue is full, a submission waits in a FIFO here
// and its connection stops being read, so the client blocks in its socket
// instead of the daemon's memory growing; the FIFO holds at most what was
// already read from each paused connection.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "shmq/task_queue.h"
#include "daemon/cluster/remote_execution.h"
#include "daemon/route/concurrency_gates.h"
#include "daemon/config/daemon_config.h"
#include "daemon/route/function_stats.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class ClientSession;
class TaskRegistry;

struct TaskCounters {
  uint64_t submitted = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;  // every non-OK result, rejections included
  uint64_t workers_died = 0;
};

class TaskRouter {
 public:
  // Kills worker `index` (SIGKILL) so its task can be settled: used for
  // timeouts and cancel-with-kill. The death then arrives via WorkerDied.
  using KillWorker = std::function<void(uint32_t index)>;

  TaskRouter(boost::asio::io_context& io, shmq::TaskQueue& queue,
             const TaskRegistry& registry, const DaemonConfig& config,
             KillWorker kill_worker);

  // Accepts a task from `connection`, or answers it right away with a
  // rejection (SHUTTING_DOWN, DUPLICATE_ID, UNKNOWN_FUNCTION,
  // PAYLOAD_TOO_LARGE, QUEUE_FULL when asked to fail fast).
  void Submit(const std::shared_ptr<ClientSession>& connection,
              const v1::Submit& submit);

  // Cancels a queued or waiting task (CANCELLED). A running task is asked
  // to stop early (Context::cancelled() turns true) and its result, whatever
  // the function returns, is delivered; unless the cancel asks to kill it:
  // then its worker is killed and replaced, and the task ends CANCELLED.
  void Cancel(ClientSession& connection, const v1::Cancel& cancel);

  // Withdraws the connection's queued tasks; its running tasks are asked to
  // stop early (Context::cancelled()) and their results are dropped.
  void ConnectionClosed(ClientSession& connection);

  // Delivers every finished task, then admits waiting submissions.
  void CollectResults();

  // Settles the tasks worker `worker` held when it died: retried if allowed,
  // otherwise WORKER_DIED naming `cause`.
  void WorkerDied(uint32_t worker, pid_t pid, const std::string& cause);

  // Further submissions are answered SHUTTING_DOWN.
  void StopAccepting() { accepting_ = false; }
  // Ends every task not yet running with CANCELLED naming `reason`.
  void CancelNotRunning(const std::string& reason);
  // Asks every running task to stop early (Context::cancelled()).
  void RequestCancelRunning();

  // One entry per client user with tasks accepted and not yet answered,
  // sorted by uid.
  void FillUsers(v1::StatusReply* status) const;

  // With --cluster: where tasks this node cannot start go (null: nowhere).
  // REQUIRES: `remote` outlives the router.
  void SetRemoteExecution(RemoteExecution* remote) { remote_ = remote; }
  // The one result of a task handed to RemoteExecution::Publish, for
  // `connection` (null once it closed). `function_index`, `tasks` and
  // `chunk` are the task's, as handed over. result.output() goes out as the
  // output.
  void DeliverRemoteResult(const std::shared_ptr<ClientSession>& connection,
                           uint32_t function_index, uint32_t tasks, bool chunk,
                           v1::Result&& result);
  // A task the work queue refused: runs it here after all (or rejects it
  // if this node lacks its function).
  void RunHere(RemoteSubmission task);

  // Tasks accepted and not yet answered (queued, waiting, running, or
  // handed to the cluster).
  size_t in_flight() const {
    return tasks_in_queue_ + waiting_.size() + gated_.size() +
           (remote_ != nullptr ? remote_->in_flight() : 0);
  }
  size_t waiting() const { return waiting_.size() + gated_.size(); }
  const TaskCounters& counters() const { return counters_; }
  const FunctionStats& function_stats() const { return function_stats_; }

  // What a busy worker is running: the task's id (as its client chose it)
  // and the client's pid.
  struct RunningTask {
    uint64_t id = 0;
    pid_t client_pid = 0;
  };
  // The running task of each busy worker, by worker index.
  std::unordered_map<uint32_t, RunningTask> RunningTasks() const;

 private:
  // A task that has a queue slot.
  struct Task {
    std::weak_ptr<ClientSession> connection;
    uid_t uid = 0;              // the connection's peer, for fair share
    uint64_t connection_id = 0;  // for the slow log
    uint64_t client_id = 0;
    shmq::SlotRef slot;
    int64_t accepted_ns = 0;  // CLOCK_MONOTONIC when the daemon read it
    uint32_t attempts = 1;
    uint32_t max_retries = 0;
    std::string function;  // for messages
    uint32_t function_index = 0;
    pid_t client_pid = 0;  // for status
    int64_t deadline_ns = 0;      // absolute CLOCK_MONOTONIC; 0: none
    int64_t timeout_ns = 0;       // running-time limit; 0: none
    // Set when we killed its worker on purpose: the outcome to report when
    // the death arrives, instead of WORKER_DIED (and no retry).
    std::optional<std::pair<ErrorCode, std::string>> kill_outcome;
    // Its client cancelled it while running, without kill: a worker death
    // then ends it rather than retrying it.
    bool cancel_requested = false;
    ConcurrencyGates::Pass pass;  // its lock key, function limit, user share
    bool slow_logged = false;     // the slow log reported it running
    int64_t slow_started_ns = 0;  // its run's start, once slow_logged
    bool chunk = false;           // Submit.chunk: its output holds items
    uint32_t items = 1;           // tasks it counts as (a chunk's items)
  };
  // A task accepted but not yet queued: waiting for its gates (pass empty)
  // or, past them, for room in the queue.
  struct WaitingTask {
    std::weak_ptr<ClientSession> connection;
    uid_t uid = 0;
    v1::Submit submit;
    uint32_t function_index = 0;
    int64_t accepted_ns = 0;
    ConcurrencyGates::Pass pass;
    std::vector<std::string> keys;  // its gate keys, while in gated_
    uint32_t tasks = 1;  // what it counts as (a chunk: its items)
  };

  // Timeouts and deadlines: a tick runs while any task has one.
  void ArmTimerTick();
  void CheckTimers();
  void CheckTimer(Task& task, int64_t now_ns);
  void CheckWaitingDeadlines(int64_t now_ns);
  // Kills the worker running `task` and reports `code`/`message` for it.
  bool KillRunning(Task& task, ErrorCode code, std::string message);
  // Whether the tick must watch `task` (timeout, deadline, slow log).
  bool NeedsTimer(const Task& task) const;
  void LogSlowStart(Task& task, uint32_t worker, const shmq::WorkerActivity& activity,
                    int64_t now_ns);
  void LogSlowEnd(const Task& task, const std::string& outcome, int64_t run_ns,
                  pid_t worker_pid);
  // The slow log's end line for a task whose worker returned `completed`
  // (ending it with `code`), if the slow log reported it running.
  void LogSlowEndOfRun(const Task& task, ErrorCode code, const shmq::CompletedTask& completed);

  // The gates `submit` must pass: its lock key, its function's limit, its
  // user's share.
  std::vector<std::string> GateKeys(const ClientSession& connection,
                                    const v1::Submit& submit) const;
  // gated_ and the count of its tasks per key.
  void Hold(WaitingTask task);
  bool AnyHeldWith(const std::vector<std::string>& keys) const;
  void Unhold(const WaitingTask& task);
  // Whether a held task waits for its user's share (not a lock or limit).
  bool HeldForUserShare(const WaitingTask& task) const;
  // Queues a task that passed its gates, or makes it wait for room, or
  // (with `may_publish` and a cluster) publishes it when no worker here is
  // free. `tasks`: what the submission counts as (a chunk: its items).
  // function_index is kUnknownFunction for a task only other nodes can run.
  void Admit(const std::shared_ptr<ClientSession>& connection, const v1::Submit& submit,
             uint32_t function_index, uint32_t tasks, int64_t accepted_ns,
             ConcurrencyGates::Pass pass, bool may_publish = true);
  // Hands the task to the cluster if it should leave this node now.
  bool TryPublish(const std::shared_ptr<ClientSession>& connection, const v1::Submit& submit,
                  uint32_t function_index, uint32_t tasks, int64_t accepted_ns,
                  ConcurrencyGates::Pass& pass);
  // Puts a task into the queue; false (and `pass` untouched) if the queue
  // is full.
  bool Enqueue(const std::shared_ptr<ClientSession>& connection,
               const v1::Submit& submit, uint32_t function_index, uint32_t tasks,
               int64_t accepted_ns, ConcurrencyGates::Pass& pass);
  // Lets gated tasks whose gates opened go on, in submission order.
  void AdmitGated();
  // Removes waiting and gated entries matching `drop` (their passes are
  // released).
  template <typename Predicate>
  void DropWaiting(Predicate drop);
  void AdmitWaiting();
  void ResumePausedConnections();
  void PauseIfOverLimit(ClientSession& connection);
  void OnCompleted(const shmq::CompletedTask& completed);
  // The statistics of chunk `id` of `function` that ran, item by item.
  void CountChunkOutcomes(uint32_t function, uint64_t id, std::string_view output,
                          uint64_t queue_us);
  // Counts `tasks` terminal results with `code`.
  void CountOutcome(uint32_t function, ErrorCode code, uint64_t tasks);
  // Sends `result` for a task of `function` (a registry index, or
  // FunctionStats::kUnknownFunction) whose bookkeeping is already removed.
  // `tasks`: what it counts as in the statistics (a chunk: its items).
  // `output` (a view into the worker's output, valid for this call) goes
  // out as the result's output without being copied into `result`.
  void Deliver(ClientSession* connection, uint32_t function, v1::Result&& result,
               uint64_t tasks = 1, std::string_view output = {});
  void Reject(ClientSession& connection, uint32_t function, uint64_t id, uint32_t tasks,
              ErrorCode code, std::string message);
  void FailTask(Task& task, ErrorCode code, std::string message);
  // Puts `task` at slot `index` of tasks_, growing it (never beyond its
  // reservation) if needed.
  void StoreTask(uint32_t index, Task task);
  Task* FindTask(shmq::SlotRef slot);
  void ForgetTask(shmq::SlotRef slot);

  shmq::TaskQueue& queue_;
  const TaskRegistry& registry_;
  RemoteExecution* remote_ = nullptr;
  const DaemonConfig& config_;
  KillWorker kill_worker_;
  ConcurrencyGates gates_;  // before every holder of a Pass
  boost::asio::steady_timer timer_tick_;
  bool timer_armed_ = false;
  // Slot indices of tasks with a timeout or deadline (may hold stale or
  // repeated entries; the tick prunes them).
  std::vector<uint32_t> timed_slots_;
  bool accepting_ = true;
  // By slot index; reserved for the queue's capacity, sized up to the
  // highest index used so far (see StoreTask).
  std::vector<std::optional<Task>> tasks_;
  size_t tasks_in_queue_ = 0;               // engaged entries of tasks_
  std::deque<WaitingTask> waiting_;  // past their gates, queue full
  std::deque<WaitingTask> gated_;    // waiting for a lock key, a limit or a share
  std::unordered_map<std::string, uint32_t> held_keys_;  // gate key -> tasks in gated_
  std::vector<std::weak_ptr<ClientSession>> paused_;
  TaskCounters counters_;
  FunctionStats function_stats_;
};

// CLOCK_MONOTONIC in nanoseconds, the clock the queue's timestamps use.
int64_t MonotonicNanos();

}  // namespace taskpool::daemon
