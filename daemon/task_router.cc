#include "daemon/task_router.h"

#include <time.h>

#include <algorithm>

#include "common/log.h"
#include "daemon/connection.h"
#include "daemon/task_registry.h"

namespace taskpool {

int64_t MonotonicNanos() {
  timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

namespace {

// How often timeouts and deadlines are checked while any task has one.
constexpr std::chrono::milliseconds kTimerTick{10};

uint64_t NanosToMicros(int64_t nanos) {
  return nanos > 0 ? static_cast<uint64_t>(nanos / 1000) : 0;
}

v1::Result MakeResult(uint64_t id, ErrorCode code, std::string error) {
  v1::Result result;
  result.set_id(id);
  result.set_code(static_cast<v1::ErrorCode>(code));
  result.set_error(std::move(error));
  return result;
}

}  // namespace

TaskRouter::TaskRouter(boost::asio::io_context& io, TaskQueue& queue,
                       const TaskRegistry& registry, const DaemonConfig& config,
                       KillWorker kill_worker)
    : queue_(queue),
      registry_(registry),
      config_(config),
      kill_worker_(std::move(kill_worker)),
      timer_tick_(io),
      tasks_(queue.geometry().capacity),
      function_stats_(registry.size()) {
  for (const auto& [function, limit] : config.function_limits) {
    gates_.SetLimit("function/" + function, limit);
  }
}

std::vector<std::string> TaskRouter::GateKeys(const v1::Submit& submit) const {
  std::vector<std::string> keys;
  if (!submit.lock().empty()) keys.push_back("lock/" + submit.lock());
  std::string function_key = "function/" + submit.function();
  if (gates_.HasLimit(function_key)) keys.push_back(std::move(function_key));
  return keys;
}

void TaskRouter::Submit(const std::shared_ptr<Connection>& connection,
                        const v1::Submit& submit) {
  ++counters_.submitted;
  const int64_t accepted_ns = MonotonicNanos();
  Result<uint32_t> function = registry_.Find(submit.function());
  const uint32_t function_index =
      function.ok() ? *function : FunctionStats::kUnknownFunction;
  function_stats_.OnSubmitted(function_index);
  if (!accepting_) {
    Reject(*connection, function_index, submit.id(), ErrorCode::kShuttingDown,
           "taskpoold is shutting down and accepts no new tasks");
    return;
  }
  if (connection->in_flight().contains(submit.id())) {
    Reject(*connection, function_index, submit.id(), ErrorCode::kDuplicateId,
           "task id " + std::to_string(submit.id()) +
               " is already in flight on this connection");
    return;
  }
  if (!function.ok()) {
    Reject(*connection, function_index, submit.id(), function.status().code(),
           function.status().message());
    return;
  }
  if (submit.payload().size() > config_.max_payload_bytes) {
    Reject(*connection, function_index, submit.id(), ErrorCode::kPayloadTooLarge,
           "payload of " + std::to_string(submit.payload().size()) +
               " bytes exceeds the limit of " +
               std::to_string(config_.max_payload_bytes) +
               " bytes (taskpoold --max-payload-bytes)");
    return;
  }
  std::optional<ConcurrencyGates::Pass> pass = gates_.TryEnter(GateKeys(submit));
  // Tasks with the same key keep their order: none overtakes a gated one.
  const bool key_has_queue = pass && !gated_.empty() && !GateKeys(submit).empty();
  if (!pass || key_has_queue) {
    pass.reset();
    connection->in_flight().emplace(submit.id(), std::nullopt);
    gated_.push_back({connection, submit, *function, accepted_ns, {}});
    if (submit.deadline_ms() != 0) ArmTimerTick();
    PauseIfOverLimit(*connection);
    AdmitGated();
    return;
  }
  Admit(connection, submit, *function, accepted_ns, std::move(*pass));
}

void TaskRouter::Admit(const std::shared_ptr<Connection>& connection,
                       const v1::Submit& submit, uint32_t function_index,
                       int64_t accepted_ns, ConcurrencyGates::Pass pass) {
  // FIFO: nobody overtakes a task already waiting for room.
  if (waiting_.empty() &&
      Enqueue(connection, submit, function_index, accepted_ns, pass)) {
    PauseIfOverLimit(*connection);
    return;
  }
  if (submit.fail_if_full()) {
    connection->in_flight().erase(submit.id());
    Reject(*connection, function_index, submit.id(), ErrorCode::kQueueFull,
           "the queue is full (" + std::to_string(queue_.geometry().capacity) +
               " tasks; taskpoold --queue-capacity)");
    return;
  }
  connection->in_flight()[submit.id()] = std::nullopt;
  waiting_.push_back({connection, submit, function_index, accepted_ns, std::move(pass)});
  if (submit.deadline_ms() != 0) ArmTimerTick();
  if (!connection->reading_paused()) {
    connection->PauseReading();
    paused_.push_back(connection);
  }
}

void TaskRouter::AdmitGated() {
  for (auto entry = gated_.begin(); entry != gated_.end();) {
    const std::shared_ptr<Connection> connection = entry->connection.lock();
    if (connection == nullptr || connection->closed()) {
      entry = gated_.erase(entry);
      continue;
    }
    std::optional<ConcurrencyGates::Pass> pass = gates_.TryEnter(GateKeys(entry->submit));
    if (!pass) {
      ++entry;
      continue;
    }
    WaitingTask admitted = std::move(*entry);
    entry = gated_.erase(entry);
    Admit(connection, admitted.submit, admitted.function_index, admitted.accepted_ns,
          std::move(*pass));
  }
}

template <typename Predicate>
void TaskRouter::DropWaiting(Predicate drop) {
  std::erase_if(waiting_, drop);
  std::erase_if(gated_, drop);
}

bool TaskRouter::Enqueue(const std::shared_ptr<Connection>& connection,
                         const v1::Submit& submit, uint32_t function_index,
                         int64_t accepted_ns, ConcurrencyGates::Pass& pass) {
  Result<SlotRef> slot = queue_.Enqueue(function_index, submit.payload());
  if (!slot.ok()) {
    if (slot.status().code() == ErrorCode::kQueueFull) return false;
    Reject(*connection, function_index, submit.id(), slot.status().code(),
           slot.status().message());
    return true;
  }
  Task task;
  task.connection = connection;
  task.client_id = submit.id();
  task.slot = *slot;
  task.accepted_ns = accepted_ns;
  task.max_retries = submit.max_retries();
  task.function = submit.function();
  task.function_index = function_index;
  task.client_pid = connection->peer_pid();
  task.pass = std::move(pass);
  if (submit.deadline_ms() != 0) {
    task.deadline_ns = accepted_ns + int64_t{submit.deadline_ms()} * 1'000'000;
  }
  const uint64_t timeout_ms = submit.timeout_ms() != 0
                                  ? submit.timeout_ms()
                                  : static_cast<uint64_t>(config_.task_timeout.count());
  task.timeout_ns = static_cast<int64_t>(timeout_ms) * 1'000'000;
  if (task.deadline_ns != 0 || task.timeout_ns != 0) {
    timed_slots_.push_back(slot->index);
    ArmTimerTick();
  }
  tasks_[slot->index] = std::move(task);
  ++tasks_in_queue_;
  connection->in_flight()[submit.id()] = *slot;
  return true;
}

void TaskRouter::PauseIfOverLimit(Connection& connection) {
  if (connection.in_flight().size() < config_.max_in_flight_per_connection ||
      connection.reading_paused()) {
    return;
  }
  connection.PauseReading();
  paused_.push_back(connection.shared_from_this());
}

void TaskRouter::Cancel(Connection& connection, const v1::Cancel& cancel) {
  auto entry = connection.in_flight().find(cancel.id());
  if (entry == connection.in_flight().end()) return;  // finished already
  uint32_t function_index = FunctionStats::kUnknownFunction;
  if (!entry->second) {  // still waiting for its gates or for room
    DropWaiting([&](const WaitingTask& task) {
      const bool cancelled = task.submit.id() == cancel.id() &&
                             task.connection.lock().get() == &connection;
      if (cancelled) function_index = task.function_index;
      return cancelled;
    });
  } else if (queue_.TryWithdraw(*entry->second)) {
    if (const Task* task = FindTask(*entry->second)) function_index = task->function_index;
    ForgetTask(*entry->second);
  } else {
    // Running: it finishes and its result is delivered, unless asked to kill.
    Task* task = FindTask(*entry->second);
    if (cancel.kill_running() && task != nullptr) {
      KillRunning(*task, ErrorCode::kCancelled,
                  "cancelled by the client while running; its worker was "
                  "killed and replaced");
    }
    return;
  }
  connection.in_flight().erase(entry);
  Deliver(&connection, function_index,
          MakeResult(cancel.id(), ErrorCode::kCancelled,
                                  "cancelled by the client before it ran"));
  AdmitWaiting();
}

void TaskRouter::ConnectionClosed(Connection& connection) {
  for (const auto& [id, slot] : connection.in_flight()) {
    if (slot && queue_.TryWithdraw(*slot)) ForgetTask(*slot);
    // Running tasks finish; their results find the connection closed.
  }
  DropWaiting([&](const WaitingTask& task) {
    const auto owner = task.connection.lock();
    return owner == nullptr || owner.get() == &connection;
  });
  connection.in_flight().clear();
  AdmitWaiting();
}

void TaskRouter::CollectResults() {
  queue_.CollectCompleted(
      [this](const CompletedTask& completed) { OnCompleted(completed); });
  AdmitWaiting();
  ResumePausedConnections();
}

void TaskRouter::OnCompleted(const CompletedTask& completed) {
  Task* task = FindTask(completed.slot);
  if (task == nullptr) {
    TP_LOG(kError) << "result for unknown slot " << completed.slot.index;
    return;
  }
  v1::Result result = MakeResult(
      task->client_id, completed.code,
      completed.code == ErrorCode::kOk ? std::string() : std::string(completed.output));
  if (completed.code == ErrorCode::kOk) {
    result.set_output(completed.output.data(), completed.output.size());
  }
  result.set_worker_pid(completed.worker_pid);
  result.set_queue_us(NanosToMicros(completed.started_ns - task->accepted_ns));
  result.set_run_us(NanosToMicros(completed.finished_ns - completed.started_ns));
  result.set_attempts(task->attempts);
  result.set_started_unix_us(static_cast<uint64_t>(completed.started_unix_us));
  result.set_finished_unix_us(static_cast<uint64_t>(completed.finished_unix_us));
  const uint32_t function_index = task->function_index;
  function_stats_.OnRan(function_index, result.queue_us(), result.run_us());

  const std::shared_ptr<Connection> connection = task->connection.lock();
  ForgetTask(completed.slot);
  if (connection != nullptr) connection->in_flight().erase(result.id());
  Deliver(connection.get(), function_index, std::move(result));
}

void TaskRouter::WorkerDied(uint32_t worker, pid_t pid,
                            const std::string& cause) {
  ++counters_.workers_died;
  for (const SlotRef& slot : queue_.RecoverDeadWorker(worker)) {
    Task* task = FindTask(slot);
    if (task == nullptr) {
      queue_.Release(slot);
      continue;
    }
    if (task->kill_outcome) {  // we killed it on purpose
      queue_.Release(slot);
      auto [code, message] = std::move(*task->kill_outcome);
      FailTask(*task, code, std::move(message));
      continue;
    }
    const std::shared_ptr<Connection> connection = task->connection.lock();
    const bool wanted = connection != nullptr && !connection->closed();
    if (wanted && accepting_ && task->attempts <= task->max_retries) {
      Result<SlotRef> requeued = queue_.Requeue(slot, task->attempts + 1);
      if (requeued.ok()) {
        TP_LOG(kInfo) << "retrying task " << task->client_id << " ("
                      << task->function << ") after worker " << worker
                      << " (pid " << pid << ") " << cause;
        Task moved = std::move(*task);
        ForgetTask(slot);
        ++moved.attempts;
        moved.slot = *requeued;
        connection->in_flight()[moved.client_id] = *requeued;
        tasks_[requeued->index] = std::move(moved);
        ++tasks_in_queue_;
        continue;
      }
    }
    queue_.Release(slot);
    FailTask(*task, ErrorCode::kWorkerDied,
             "worker " + std::to_string(worker) + " (pid " +
                 std::to_string(pid) + ") " + cause + " while running " +
                 task->function);
  }
  // A death frees slots, so waiting tasks may now fit.
  AdmitWaiting();
  ResumePausedConnections();
}

void TaskRouter::CancelNotRunning(const std::string& reason) {
  for (std::optional<Task>& task : tasks_) {
    if (task && queue_.TryWithdraw(task->slot)) {
      FailTask(*task, ErrorCode::kCancelled, reason);
    }
  }
  DropWaiting([&](const WaitingTask& waiting) {
    if (const std::shared_ptr<Connection> connection = waiting.connection.lock()) {
      connection->in_flight().erase(waiting.submit.id());
      Deliver(connection.get(), waiting.function_index,
              MakeResult(waiting.submit.id(), ErrorCode::kCancelled, reason));
    }
    return true;
  });
}

void TaskRouter::AdmitWaiting() {
  while (!waiting_.empty()) {
    WaitingTask& next = waiting_.front();
    const std::shared_ptr<Connection> connection = next.connection.lock();
    if (connection != nullptr && !connection->closed()) {
      if (!Enqueue(connection, next.submit, next.function_index,
                   next.accepted_ns, next.pass)) {
        return;  // still full
      }
    }
    waiting_.pop_front();
  }
  // Tasks that ended released their keys; gated tasks may go on (and
  // may find the queue full, joining waiting_ behind the others).
  AdmitGated();
}

void TaskRouter::ResumePausedConnections() {
  std::erase_if(paused_, [this](const std::weak_ptr<Connection>& weak) {
    const std::shared_ptr<Connection> connection = weak.lock();
    if (connection == nullptr || connection->closed()) return true;
    const bool has_waiting =
        std::any_of(waiting_.begin(), waiting_.end(), [&](const WaitingTask& t) {
          return t.connection.lock() == connection;
        });
    if (has_waiting || connection->in_flight().size() >=
                           config_.max_in_flight_per_connection) {
      return false;
    }
    connection->ResumeReading();
    return true;
  });
}

void TaskRouter::ArmTimerTick() {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_tick_.expires_after(kTimerTick);
  timer_tick_.async_wait([this](const boost::system::error_code& error) {
    timer_armed_ = false;
    if (!error) CheckTimers();
  });
}

void TaskRouter::CheckTimers() {
  const int64_t now_ns = MonotonicNanos();
  std::erase_if(timed_slots_, [&](uint32_t index) {
    std::optional<Task>& task = tasks_[index];
    if (!task || (task->deadline_ns == 0 && task->timeout_ns == 0)) return true;
    CheckTimer(*task, now_ns);
    return !tasks_[index].has_value();  // settled by the check
  });
  CheckWaitingDeadlines(now_ns);
  const auto has_deadline = [](const WaitingTask& task) {
    return task.submit.deadline_ms() != 0;
  };
  const bool waiting_deadline = std::any_of(waiting_.begin(), waiting_.end(), has_deadline) ||
                                std::any_of(gated_.begin(), gated_.end(), has_deadline);
  if (!timed_slots_.empty() || waiting_deadline) ArmTimerTick();
  // Expired tasks free slots and connections.
  AdmitWaiting();
  ResumePausedConnections();
}

void TaskRouter::CheckTimer(Task& task, int64_t now_ns) {
  if (task.kill_outcome) return;  // already being killed
  const std::optional<uint32_t> worker = queue_.RunningWorker(task.slot);
  if (!worker) {
    // Queued (or finished and about to be collected).
    if (task.deadline_ns != 0 && now_ns >= task.deadline_ns &&
        queue_.TryWithdraw(task.slot)) {
      FailTask(task, ErrorCode::kExpired,
               "deadline of " + std::to_string((task.deadline_ns - task.accepted_ns) / 1'000'000) +
                   " ms passed while the task was still queued; it never ran");
    }
    return;
  }
  const WorkerActivity activity = queue_.activity(*worker);
  if (task.timeout_ns != 0 && activity.busy &&
      now_ns - activity.started_ns >= task.timeout_ns) {
    KillRunning(task, ErrorCode::kTimeout,
                "ran longer than its timeout of " +
                    std::to_string(task.timeout_ns / 1'000'000) +
                    " ms; its worker was killed and replaced");
  } else if (task.deadline_ns != 0 && now_ns >= task.deadline_ns) {
    KillRunning(task, ErrorCode::kTimeout,
                "still running at its deadline of " +
                    std::to_string((task.deadline_ns - task.accepted_ns) / 1'000'000) +
                    " ms; its worker was killed and replaced");
  }
}

void TaskRouter::CheckWaitingDeadlines(int64_t now_ns) {
  DropWaiting([&](const WaitingTask& waiting) {
    const uint32_t deadline_ms = waiting.submit.deadline_ms();
    if (deadline_ms == 0 ||
        now_ns < waiting.accepted_ns + int64_t{deadline_ms} * 1'000'000) {
      return false;
    }
    if (const auto connection = waiting.connection.lock()) {
      connection->in_flight().erase(waiting.submit.id());
      Deliver(connection.get(), waiting.function_index,
              MakeResult(waiting.submit.id(), ErrorCode::kExpired,
                         "deadline of " + std::to_string(deadline_ms) +
                             " ms passed while the task waited to be queued "
                             "(for its lock key, its function's limit or "
                             "room in the queue); it never ran"));
    }
    return true;
  });
}

bool TaskRouter::KillRunning(Task& task, ErrorCode code, std::string message) {
  const std::optional<uint32_t> worker = queue_.RunningWorker(task.slot);
  if (!worker) return false;
  task.kill_outcome.emplace(code, std::move(message));
  TP_LOG(kWarning) << "task " << task.client_id << " (" << task.function
                   << "): " << ErrorCodeName(code) << "; killing worker "
                   << *worker;
  kill_worker_(*worker);
  return true;
}

void TaskRouter::FailTask(Task& task, ErrorCode code, std::string message) {
  const std::shared_ptr<Connection> connection = task.connection.lock();
  const uint64_t id = task.client_id;
  const uint32_t function_index = task.function_index;
  v1::Result result = MakeResult(id, code, std::move(message));
  result.set_attempts(task.attempts);
  ForgetTask(task.slot);
  if (connection != nullptr) connection->in_flight().erase(id);
  Deliver(connection.get(), function_index, std::move(result));
}

void TaskRouter::Reject(Connection& connection, uint32_t function, uint64_t id,
                        ErrorCode code, std::string message) {
  Deliver(&connection, function, MakeResult(id, code, std::move(message)));
}

void TaskRouter::Deliver(Connection* connection, uint32_t function, v1::Result&& result) {
  function_stats_.OnFinished(function, static_cast<ErrorCode>(result.code()));
  if (result.code() == v1::OK) {
    ++counters_.succeeded;
  } else {
    ++counters_.failed;
  }
  if (connection != nullptr) connection->SendResult(std::move(result));
}

std::unordered_map<uint32_t, TaskRouter::RunningTask> TaskRouter::RunningTasks() const {
  std::unordered_map<uint32_t, RunningTask> running;
  for (const std::optional<Task>& task : tasks_) {
    if (!task) continue;
    if (const std::optional<uint32_t> worker = queue_.RunningWorker(task->slot)) {
      running[*worker] = {task->client_id, task->client_pid};
    }
  }
  return running;
}

TaskRouter::Task* TaskRouter::FindTask(SlotRef slot) {
  std::optional<Task>& task = tasks_.at(slot.index);
  if (!task || task->slot.generation != slot.generation) return nullptr;
  return &*task;
}

void TaskRouter::ForgetTask(SlotRef slot) {
  std::optional<Task>& task = tasks_.at(slot.index);
  if (task && task->slot.generation == slot.generation) {
    task.reset();
    --tasks_in_queue_;
  }
}

}  // namespace taskpool
