#include "daemon/route/task_router.h"

#include <map>

#include "daemon/tasks/chunk_task.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

using std::chrono::steady_clock;

TaskRouter::TaskRouter(TaskQueuePort& queue, RouterClock& clock, const TaskRegistry& registry,
                       const DaemonConfig& config, KillWorker kill_worker,
                       TaskRouterOptions options)
    : queue_(queue),
      clock_(clock),
      registry_(registry),
      config_(config),
      admission_(registry, config, gates_),
      stats_(registry.size()),
      slow_log_(config.slowlog, registry, std::move(options.slow_log_sink)),
      deadlines_(clock, slow_log_, [this] { CheckTimers(); }),
      tasks_(queue.capacity()),
      backpressure_(config.max_in_flight_per_connection, config.max_connection_memory_bytes),
      settlement_(queue, tasks_, clients_, stats_, slow_log_, deadlines_, clock, registry,
                  std::move(kill_worker),
                  config.cluster.enabled() ? config.cluster.node_name : std::string()),
      user_names_(std::move(options.user_lookup)) {}

void TaskRouter::Submit(TaskClient& client, const v1::Submit& submit) {
  // The cluster agent brings a fetched task only while a worker here is
  // free; one that finds them all taken meanwhile (by local clients, or
  // before the agent heard) goes back to the queue for another node rather
  // than wait here while others idle. Not yet this node's task: not counted.
  if (remote_ != nullptr && remote_->FromTheQueue(client) && !WorkerFreeHere()) {
    client.SendResult(MakeResult(submit.id(), Status(ErrorCode::kQueueFull,
                                                     "no worker is free on this node")),
                      "");
    return;
  }
  // A chunk counts as its items; a malformed one (rejected below) as one.
  const Result<uint32_t> chunk_items =
      submit.chunk() ? CountChunkItems(submit.payload()) : Result<uint32_t>(1u);
  const uint32_t tasks = chunk_items.ok() ? *chunk_items : 1;
  const steady_clock::time_point accepted = clock_.Now();
  const Result<uint32_t> function = registry_.Find(submit.function());
  const uint32_t function_index = function.ok() ? *function : FunctionStats::kUnknownFunction;
  stats_.OnSubmitted(function_index, tasks);
  ClientState& state = clients_.Open(client);
  const Status known =
      function.ok() || RunsElsewhere(state, submit, function.status()) ? Status::Ok()
                                                                       : function.status();
  if (Status refused = admission_.Check(state, submit, known, chunk_items, accepting_);
      !refused.ok()) {
    settlement_.Reject(state, function_index, submit.id(), tasks, refused);
    return;
  }
  // Entered here, whichever line it goes to: from now on it counts against
  // its connection's limits until it is answered.
  ClientTable::AddTask(state, submit.id(), Backpressure::BytesOf(submit));
  std::vector<std::string> keys = admission_.GateKeys(state.uid, submit, function_index);
  std::optional<ConcurrencyGates::Pass> pass;
  // Tasks sharing a key keep their order: none overtakes a held one. (A
  // held task whose gates opened was let go when they opened, so there is
  // nothing to re-check here.)
  if (!waiting_.AnyHeldWith(keys)) pass = gates_.TryEnter(keys);
  if (!pass) {
    waiting_.Hold({&state, submit, function_index, tasks, accepted, {}, std::move(keys)});
    if (submit.deadline_ms() != 0) deadlines_.Arm();
    backpressure_.PauseIfOverLimit(state);
    return;
  }
  Admit(state, submit, function_index, tasks, accepted, std::move(*pass));
}

bool TaskRouter::RunsElsewhere(const ClientState& client, const v1::Submit& submit,
                               const Status& function) const {
  // A function this node lacks (or has turned off) may still run on
  // another node; lock keys keep a task on its origin (README, "Running on
  // several machines"). A task for a function only the other nodes have is
  // admitted under kUnknownFunction.
  if (remote_ == nullptr || !client.open() || !submit.lock().empty() ||
      submit.has_payload_in_arena()) {
    return false;
  }
  const ErrorCode code = function.code();
  if (code != ErrorCode::kUnknownFunction && code != ErrorCode::kPermissionDenied) return false;
  return remote_->CanPublish(*client.client, submit, /*known_here=*/false);
}

bool TaskRouter::TryPublish(ClientState& client, const v1::Submit& submit, uint32_t function_index,
                            uint32_t tasks, steady_clock::time_point accepted,
                            ConcurrencyGates::Pass& pass) {
  if (remote_ == nullptr || !client.open()) return false;
  const bool known_here = function_index != FunctionStats::kUnknownFunction;
  // Lock keys and --limit'd functions stay here, where their gates are,
  // and inputs in a client's arena, which only this node's workers can map.
  if (!submit.lock().empty() || submit.has_payload_in_arena() ||
      (known_here && admission_.HasFunctionLimit(function_index))) {
    return false;
  }
  // Local first: a task leaves only when no worker here is free.
  if (known_here && WorkerFreeHere()) return false;
  if (!remote_->CanPublish(*client.client, submit, known_here)) return false;
  client.tasks.at(submit.id()).slot = std::nullopt;
  remote_->Publish({client.id, submit, function_index, tasks, accepted, std::move(pass)});
  backpressure_.PauseIfOverLimit(client);
  return true;
}

void TaskRouter::Admit(ClientState& client, const v1::Submit& submit, uint32_t function_index,
                       uint32_t tasks, steady_clock::time_point accepted,
                       ConcurrencyGates::Pass pass, bool may_publish) {
  if (may_publish && TryPublish(client, submit, function_index, tasks, accepted, pass)) return;
  if (function_index == FunctionStats::kUnknownFunction) {
    // Only other nodes have it, and none can take it any more.
    settlement_.Answer(client, function_index, submit.id(), tasks,
                       Status(ErrorCode::kUnknownFunction,
                              "no live node of the cluster offers function '" + submit.function() +
                                  "' now, and this node has no such function"));
    return;
  }
  // FIFO: nobody overtakes a task already waiting for room.
  if (waiting_.room_line_empty() &&
      Enqueue(client, submit, function_index, tasks, accepted, pass)) {
    backpressure_.PauseIfOverLimit(client);
    return;
  }
  if (submit.fail_if_full()) {
    settlement_.Answer(
        client, function_index, submit.id(), tasks,
        Status(ErrorCode::kQueueFull, "the queue is full (" + std::to_string(queue_.capacity()) +
                                          " tasks; taskpoold --queue-capacity)"));
    return;
  }
  client.tasks.at(submit.id()).slot = std::nullopt;
  waiting_.WaitForRoom({&client, submit, function_index, tasks, accepted, std::move(pass), {}});
  if (submit.deadline_ms() != 0) deadlines_.Arm();
  backpressure_.PauseForRoom(client);
}

bool TaskRouter::Enqueue(ClientState& client, const v1::Submit& submit, uint32_t function_index,
                         uint32_t tasks, steady_clock::time_point accepted,
                         ConcurrencyGates::Pass& pass) {
  std::optional<steady_clock::time_point> deadline;
  if (submit.deadline_ms() != 0)
    deadline = accepted + std::chrono::milliseconds(submit.deadline_ms());
  const std::chrono::milliseconds timeout = submit.timeout_ms() != 0
                                                ? std::chrono::milliseconds(submit.timeout_ms())
                                                : config_.task_timeout;
  const RunLimits limits = LimitsFor(deadline, timeout);
  const Result<TaskSlot> slot =
      submit.has_payload_in_arena()
          ? queue_.EnqueueFromArena(function_index, ArenaSliceOf(*client.client, submit), limits)
          : queue_.Enqueue(function_index, submit.payload(), limits, submit.chunk());
  if (!slot.ok()) {
    if (slot.status().code() == ErrorCode::kQueueFull) return false;
    settlement_.Answer(client, function_index, submit.id(), tasks, slot.status());
    return true;
  }
  RoutedTask task;
  task.client = &client;
  task.client_id = submit.id();
  task.slot = *slot;
  task.function_index = function_index;
  task.max_retries = submit.max_retries();
  task.items = tasks;
  task.chunk = submit.chunk();
  task.accepted = accepted;
  task.deadline = deadline;
  task.timeout = timeout;
  task.pass = std::move(pass);
  const RoutedTask& stored = tasks_.Store(std::move(task));
  if (deadlines_.NeedsWatching(stored)) deadlines_.Watch(slot->index);
  client.tasks.at(submit.id()).slot = *slot;
  return true;
}

ArenaSlice TaskRouter::ArenaSliceOf(const TaskClient& client, const v1::Submit& submit) {
  return {client.payload_arena(), submit.payload_in_arena().offset(),
          submit.payload_in_arena().size(), submit.output_room()};
}

RunLimits TaskRouter::LimitsFor(const std::optional<steady_clock::time_point>& deadline,
                                std::chrono::milliseconds timeout) const {
  RunLimits limits;
  limits.timeout = timeout;
  if (deadline) {
    // The monotonic deadline we enforce, as wall-clock time.
    limits.deadline =
        clock_.WallNow() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(*deadline - clock_.Now());
  }
  return limits;
}

void TaskRouter::Cancel(const TaskClient& client, const v1::Cancel& cancel) {
  if (remote_ != nullptr && remote_->Cancel(client, cancel)) return;
  ClientState* state = clients_.Find(client.id());
  if (state == nullptr) return;
  const auto entry = state->tasks.find(cancel.id());
  if (entry == state->tasks.end()) return;  // finished already
  uint32_t function_index = FunctionStats::kUnknownFunction;
  uint32_t tasks = 1;
  const std::optional<TaskSlot>& slot = entry->second.slot;
  if (!slot) {  // still waiting for its gates or for room
    for (const WaitingTask& task : waiting_.TakeIf([&](const WaitingTask& task) {
           return task.client == state && task.submit.id() == cancel.id();
         })) {
      function_index = task.function_index;
      tasks = task.tasks;
    }
  } else if (queue_.TryWithdraw(*slot)) {
    if (const RoutedTask* task = tasks_.Find(*slot)) {
      function_index = task->function_index;
      tasks = task->items;
    }
    tasks_.Forget(*slot);
  } else {
    // Running: unless asked to kill, it is asked to stop early
    // (Context::cancelled()) and its result, whatever it is, is delivered.
    RoutedTask* task = tasks_.Find(*slot);
    if (task == nullptr) return;
    if (!task->cancel_reason) task->cancel_reason = CancelReason::kClient;
    if (cancel.kill_running()) {
      settlement_.KillRunning(*task, Status(ErrorCode::kCancelled,
                                            "cancelled by the client while running; its "
                                            "worker was killed and replaced"));
    } else {
      task->cancel_requested = queue_.RequestCancel(task->slot);
    }
    return;
  }
  settlement_.Answer(*state, function_index, cancel.id(), tasks,
                     Status(ErrorCode::kCancelled, "cancelled by the client before it ran"),
                     CancelReason::kClient);
  AdmitWaiting();
}

void TaskRouter::ConnectionClosed(const TaskClient& client) {
  ClientState* state = clients_.Find(client.id());
  if (state == nullptr) return;
  ClientTable::MarkClosed(*state);
  // What goes without a result is counted as cancelled all the same, so
  // that the counts still add up. Its remote tasks go too (each a nullopt
  // entry, erased below).
  if (remote_ != nullptr) {
    for (const RemoteDrop& dropped : remote_->ConnectionClosed(client)) {
      settlement_.Drop(dropped.function_index, dropped.tasks);
    }
  }
  // Its waiting tasks go at once (each is a nullopt entry, erased below).
  for (const WaitingTask& task :
       waiting_.TakeIf([&](const WaitingTask& task) { return task.client == state; })) {
    settlement_.Drop(task.function_index, task.tasks);
  }
  ClientTable::DropTasksIf(*state, [&](const TaskEntry& entry) {
    const std::optional<TaskSlot>& slot = entry.slot;
    if (!slot) return true;
    RoutedTask* task = tasks_.Find(*slot);
    if (queue_.TryWithdraw(*slot)) {
      if (task != nullptr) settlement_.Drop(task->function_index, task->items);
      tasks_.Forget(*slot);
      return true;
    }
    // Running: nobody wants its result, so it may stop early; it stays
    // here until it ends, and its result is dropped (and counted).
    queue_.RequestCancel(*slot);
    if (task != nullptr && !task->cancel_reason) task->cancel_reason = CancelReason::kDisconnect;
    return false;
  });
  clients_.EraseIfDone(*state);
  AdmitWaiting();
}

bool TaskRouter::HasTasksInFlight(uint64_t client_id) const {
  return TasksInFlight(client_id) != 0;
}

void TaskRouter::ConnectionBuffersChanged(TaskClient& client) {
  backpressure_.Recheck(clients_.Open(client));
}

uint64_t TaskRouter::HeldBytes(uint64_t client_id) const {
  const ClientState* state = clients_.Find(client_id);
  return state != nullptr ? state->held_bytes : 0;
}

size_t TaskRouter::TasksInFlight(uint64_t client_id) const {
  const ClientState* state = clients_.Find(client_id);
  return state != nullptr ? state->tasks.size() : 0;
}

void TaskRouter::DeliverRemoteResult(uint64_t client_id, uint32_t function_index, uint32_t tasks,
                                     bool chunk, v1::Result&& result) {
  // What this node knows of why a remote task ended CANCELLED: it is
  // ending every task itself, or its client cancelled it.
  ClientState* client = clients_.Find(client_id);
  const CancelReason reason = ending_all_for_.value_or(
      client == nullptr || !client->open() ? CancelReason::kDisconnect : CancelReason::kClient);
  settlement_.OnRemoteResult(client, function_index, tasks, chunk, std::move(result), reason);
  // Its pass is released: gated and waiting tasks may go on.
  AdmitWaiting();
  backpressure_.ResumeReady(clients_);
}

void TaskRouter::RunHere(RemoteSubmission task) {
  ClientState* client = clients_.Find(task.client);
  // Closed: its entry went with the connection, and nobody waits.
  if (client == nullptr || !client->open()) return;
  Admit(*client, task.submit, task.function_index, task.tasks, task.accepted, std::move(task.pass),
        /*may_publish=*/false);
}

void TaskRouter::CollectResults() {
  queue_.CollectCompleted(
      [this](const FinishedTask& finished) { settlement_.OnFinished(finished); });
  AdmitWaiting();
  backpressure_.ResumeReady(clients_);
}

void TaskRouter::WorkerDied(uint32_t worker, pid_t pid, const std::string& cause) {
  settlement_.OnWorkerDied(worker, pid, cause, accepting_);
  // A death frees slots, so waiting tasks may now fit.
  AdmitWaiting();
  backpressure_.ResumeReady(clients_);
}

void TaskRouter::ReloadLimits() {
  admission_.ApplyLimits();
  AdmitWaiting();
}

void TaskRouter::SetFunctionsOnEveryWorker(uint32_t count) {
  stats_.GrowFunctions(registry_.size());
  admission_.SetFunctionsOnEveryWorker(count);
  AdmitWaiting();
}

void TaskRouter::AdmitWaiting() {
  waiting_.QueueWaiting([this](WaitingTask& next) {
    return Enqueue(*next.client, next.submit, next.function_index, next.tasks, next.accepted,
                   next.pass);
  });
  // Tasks that ended released their keys; held tasks may go on (and may
  // find the queue full, joining the room line behind the others).
  waiting_.ReleaseHeld(gates_, [this](WaitingTask&& task, ConcurrencyGates::Pass pass) {
    Admit(*task.client, task.submit, task.function_index, task.tasks, task.accepted,
          std::move(pass));
  });
}

void TaskRouter::CancelNotRunning(const std::string& reason, CancelReason why) {
  const Status cancelled(ErrorCode::kCancelled, reason);
  // Waiting tasks first: an ending remote task admits what waits.
  for (const WaitingTask& task : waiting_.TakeIf([](const WaitingTask&) { return true; })) {
    settlement_.Answer(*task.client, task.function_index, task.submit.id(), task.tasks, cancelled,
                       why);
  }
  if (remote_ != nullptr) {
    ending_all_for_ = why;
    remote_->CancelAll(reason);
    ending_all_for_.reset();
  }
  tasks_.ForEach([&](RoutedTask& task) {
    if (!queue_.TryWithdraw(task.slot)) return;
    task.cancel_reason = why;
    settlement_.Fail(task, cancelled);
  });
}

void TaskRouter::RequestCancelRunning() {
  tasks_.ForEach([&](RoutedTask& task) {
    queue_.RequestCancel(task.slot);
    if (!task.cancel_reason) task.cancel_reason = CancelReason::kShutdown;
  });
}

void TaskRouter::CheckTimers() {
  const steady_clock::time_point now = clock_.Now();
  deadlines_.CheckWatched(tasks_, [&](RoutedTask& task) { CheckTimer(task, now); });
  for (const WaitingTask& task : waiting_.TakeIf([&](const WaitingTask& task) {
         return DeadlineWatch::Overrun(task, now).has_value();
       })) {
    settlement_.Answer(*task.client, task.function_index, task.submit.id(), task.tasks,
                       *DeadlineWatch::Overrun(task, now));
  }
  if (deadlines_.watching() || waiting_.AnyDeadline()) deadlines_.Arm();
  // Expired tasks free slots and connections.
  AdmitWaiting();
  backpressure_.ResumeReady(clients_);
}

void TaskRouter::CheckTimer(RoutedTask& task, steady_clock::time_point now) {
  if (task.kill_outcome) return;  // already being killed
  const std::optional<uint32_t> worker = queue_.RunningWorker(task.slot);
  if (!worker) {
    // Queued (or finished and about to be collected).
    std::optional<Status> expired = DeadlineWatch::Overrun(task, nullptr, now);
    if (expired && queue_.TryWithdraw(task.slot)) settlement_.Fail(task, *expired);
    return;
  }
  const WorkerRun run = queue_.activity(*worker);
  slow_log_.CheckRunning(task, *worker, run, now);
  if (std::optional<Status> overrun = DeadlineWatch::Overrun(task, &run, now)) {
    settlement_.KillRunning(task, std::move(*overrun));
  }
}

void TaskRouter::FillUsers(v1::StatusReply* status) {
  struct Counts {
    uint32_t in_flight = 0;
    uint32_t held = 0;
  };
  std::map<uid_t, Counts> users;
  // Every unanswered task is in its connection's entry: queued, running,
  // waiting, or out on another node.
  clients_.ForEach([&](const ClientState& client) {
    if (!client.tasks.empty()) {
      users[client.uid].in_flight += static_cast<uint32_t>(client.tasks.size());
    }
  });
  // Of those, the ones held for their user's share are not in flight.
  for (const WaitingTask& task : waiting_.held()) {
    if (!admission_.AtUserShare(task.client->uid)) continue;
    Counts& counts = users[task.client->uid];
    --counts.in_flight;
    ++counts.held;
  }
  const steady_clock::time_point now = clock_.Now();
  for (const auto& [uid, counts] : users) {
    v1::UserStatus* user = status->add_users();
    user->set_uid(uid);
    user->set_name(user_names_.NameOf(uid, now));
    user->set_in_flight(counts.in_flight);
    user->set_held(counts.held);
  }
}

std::unordered_map<uint32_t, TaskRouter::RunningTask> TaskRouter::RunningTasks() const {
  std::unordered_map<uint32_t, RunningTask> running;
  tasks_.ForEach([&](const RoutedTask& task) {
    if (const std::optional<uint32_t> worker = queue_.RunningWorker(task.slot)) {
      running[*worker] = {task.client_id, task.client->pid};
    }
  });
  return running;
}

}  // namespace taskpool::daemon
