#include "daemon/route/settlement.h"

#include "base/log.h"
#include "daemon/tasks/task_registry.h"
#include "wire/error_code.h"

namespace taskpool::daemon {

namespace {

v1::Result ResultWithError(uint64_t id, ErrorCode code, std::string error) {
  v1::Result result;
  result.set_id(id);
  result.set_code(wire::ToWireCode(code));
  result.set_error(std::move(error));
  return result;
}

uint64_t MicrosecondsOrZero(std::chrono::steady_clock::duration duration) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  return micros > 0 ? static_cast<uint64_t>(micros) : 0;
}

uint64_t WireUnixMicros(std::chrono::system_clock::time_point time) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count());
}

}  // namespace

v1::Result MakeResult(uint64_t id, const Status& outcome) {
  return ResultWithError(id, outcome.code(), outcome.message());
}

Settlement::Settlement(TaskQueuePort& queue, InFlightTable& tasks, ClientTable& clients,
                       TaskStats& stats, SlowLog& slow_log, DeadlineWatch& deadlines,
                       RouterClock& clock, const TaskRegistry& registry, KillWorker kill_worker,
                       std::string node)
    : queue_(queue),
      tasks_(tasks),
      clients_(clients),
      stats_(stats),
      slow_log_(slow_log),
      deadlines_(deadlines),
      clock_(clock),
      registry_(registry),
      kill_worker_(std::move(kill_worker)),
      node_(std::move(node)) {}

void Settlement::OnFinished(const FinishedTask& finished) {
  RoutedTask* task = tasks_.Find(finished.slot);
  if (task == nullptr) {
    TP_LOG(kError) << "result for unknown slot " << finished.slot.index;
    return;
  }
  if (task->kill_outcome) {
    // We were killing its worker (timeout, cancel with kill) and it still
    // finished in between: what it returned may be the kill's own doing (a
    // shell job whose process group went first ends "killed by signal 9"),
    // so the outcome stays the one the kill was for.
    const Status outcome(task->kill_outcome->first, std::move(task->kill_outcome->second));
    slow_log_.LogEndOfRun(*task, outcome.code(), finished);
    Fail(*task, outcome);
    return;
  }
  const bool ok = finished.code == ErrorCode::kOk;
  v1::Result result = ResultWithError(task->client_id, finished.code,
                                      ok ? std::string() : std::string(finished.output));
  // The output stays where the worker wrote it until SendResult copies it
  // into the connection's frame (see result_frame.h).
  const std::string_view output = ok ? finished.output : std::string_view();
  if (ok && finished.output_in_arena) {
    v1::ArenaRange& range = *result.mutable_output_in_arena();
    range.set_offset(finished.output_offset);
    range.set_size(finished.output_bytes);
  }
  result.set_worker_pid(finished.worker_pid);
  result.set_queue_us(MicrosecondsOrZero(finished.started - task->accepted));
  result.set_run_us(MicrosecondsOrZero(finished.finished - finished.started));
  result.set_attempts(task->attempts);
  result.set_started_unix_us(WireUnixMicros(finished.started_wall));
  result.set_finished_unix_us(WireUnixMicros(finished.finished_wall));
  if (!node_.empty()) result.set_node(node_);
  const uint32_t function = task->function_index;
  const CancelReason reason = task->cancel_reason.value_or(CancelReason::kFunction);
  const uint32_t counted = CountRun(function, task->client_id, task->chunk, ok, task->items,
                                    finished.output, result.queue_us(), result.run_us(), reason);
  slow_log_.LogEndOfRun(*task, finished.code, finished);
  ClientState& client = *task->client;
  tasks_.Forget(finished.slot);
  Deliver(clients_.ForgetTask(client, result.id()), function, std::move(result), counted, output,
          reason);
}

uint32_t Settlement::CountRun(uint32_t function, uint64_t id, bool chunk, bool ok, uint32_t tasks,
                              std::string_view output, uint64_t queue_us, uint64_t run_us,
                              CancelReason reason) {
  // A chunk that ran counts item by item; one that failed as a whole (its
  // output too large, say) counts as its items failing.
  if (!chunk || !ok) {
    stats_.OnRan(function, queue_us, run_us);
    return tasks;
  }
  if (Status read = stats_.OnChunkRan(function, output, queue_us, reason); !read.ok()) {
    const std::string name =
        function < registry_.size() ? registry_.name(function) : std::string("elsewhere only");
    TP_LOG(kError) << "chunk " << id << " (" << name << "): " << read.message();
  }
  return 0;
}

void Settlement::OnRemoteResult(ClientState* client, uint32_t function, uint32_t tasks,
                                bool chunk, v1::Result&& result, CancelReason reason) {
  const std::string output = std::move(*result.mutable_output());
  result.clear_output();
  const bool ok = result.code() == v1::OK;
  // A task that never started anywhere (expired, cancelled before it ran,
  // its node lost) has no run to count.
  uint32_t counted = tasks;
  if (result.worker_pid() != 0 || (chunk && ok)) {
    counted = CountRun(function, result.id(), chunk, ok, tasks, output, result.queue_us(),
                       result.run_us(), reason);
  }
  TaskClient* to = client != nullptr ? clients_.ForgetTask(*client, result.id()) : nullptr;
  Deliver(to, function, std::move(result), counted,
          ok ? std::string_view(output) : std::string_view(), reason);
}

void Settlement::OnWorkerDied(uint32_t worker, pid_t pid, const std::string& cause,
                              bool may_retry) {
  for (const TaskSlot& slot : queue_.RecoverDeadWorker(worker)) {
    RoutedTask* task = tasks_.Find(slot);
    if (task == nullptr) {
      queue_.Release(slot);
      continue;
    }
    slow_log_.LogEnd(*task, "ended (worker " + cause + ")", clock_.Now() - task->slow_started, pid);
    if (task->kill_outcome) {  // we killed it on purpose
      queue_.Release(slot);
      Fail(*task, Status(task->kill_outcome->first, std::move(task->kill_outcome->second)));
      continue;
    }
    const bool wanted = task->client->open() && !task->cancel_requested;
    if (wanted && may_retry && task->attempts <= task->max_retries &&
        Retry(*task, worker, pid, cause)) {
      continue;
    }
    queue_.Release(slot);
    Fail(*task, Status(ErrorCode::kWorkerDied,
                       "worker " + std::to_string(worker) + " (pid " + std::to_string(pid) + ") " +
                           cause + " while running " + registry_.name(task->function_index)));
  }
}

bool Settlement::Retry(RoutedTask& task, uint32_t worker, pid_t pid, const std::string& cause) {
  const Result<TaskSlot> requeued = queue_.Requeue(task.slot, task.attempts + 1);
  if (!requeued.ok()) return false;
  TP_LOG(kInfo) << "retrying task " << task.client_id << " (" << registry_.name(task.function_index)
                << ") after worker " << worker << " (pid " << pid << ") " << cause;
  RoutedTask moved = std::move(task);
  tasks_.Forget(moved.slot);
  ++moved.attempts;
  moved.slot = *requeued;
  moved.slow_logged = false;  // a new run, watched afresh
  moved.client->tasks[moved.client_id].slot = *requeued;
  const RoutedTask& stored = tasks_.Store(std::move(moved));
  if (deadlines_.NeedsWatching(stored)) deadlines_.Watch(stored.slot.index);
  return true;
}

bool Settlement::KillRunning(RoutedTask& task, Status outcome) {
  const std::optional<uint32_t> worker = queue_.RunningWorker(task.slot);
  if (!worker) return false;
  TP_LOG(kWarning) << "task " << task.client_id << " (" << registry_.name(task.function_index)
                   << "): " << ErrorCodeName(outcome.code()) << "; killing worker " << *worker;
  task.kill_outcome.emplace(outcome.code(), outcome.message());
  kill_worker_(*worker);
  return true;
}

void Settlement::Fail(RoutedTask& task, const Status& outcome) {
  const uint64_t id = task.client_id;
  const uint32_t function = task.function_index;
  const uint32_t items = task.items;
  v1::Result result = MakeResult(id, outcome);
  result.set_attempts(task.attempts);
  if (!node_.empty()) result.set_node(node_);
  const CancelReason reason = task.cancel_reason.value_or(CancelReason::kFunction);
  ClientState& client = *task.client;
  tasks_.Forget(task.slot);
  Deliver(clients_.ForgetTask(client, id), function, std::move(result), items, {}, reason);
}

void Settlement::Answer(ClientState& client, uint32_t function, uint64_t id, uint32_t tasks,
                        const Status& outcome, CancelReason reason) {
  Deliver(clients_.ForgetTask(client, id), function, MakeResult(id, outcome), tasks, {}, reason);
}

void Settlement::Drop(uint32_t function, uint32_t tasks) {
  stats_.OnFinished(function, ErrorCode::kCancelled, tasks, CancelReason::kDisconnect);
}

void Settlement::Reject(const ClientState& client, uint32_t function, uint64_t id, uint32_t tasks,
                        const Status& outcome) {
  Deliver(client.client, function, MakeResult(id, outcome), tasks);
}

void Settlement::Deliver(TaskClient* client, uint32_t function, v1::Result&& result, uint64_t tasks,
                         std::string_view output, CancelReason reason) {
  stats_.OnFinished(function, wire::FromWireCode(result.code()), tasks, reason);
  if (client != nullptr) client->SendResult(result, output);
}

}  // namespace taskpool::daemon
