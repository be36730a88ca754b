#include "daemon/route/task_router.h"

#include <pwd.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <unordered_set>

#include "wire/chunk_wire.h"
#include "base/log.h"
#include "daemon/tasks/chunk_task.h"
#include "daemon/serve/client_session.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

int64_t MonotonicNanos() {
  timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

namespace {

constexpr char kUserKeyPrefix[] = "user/";

std::string UserKey(uid_t uid) { return kUserKeyPrefix + std::to_string(uid); }

// The user database's name for `uid`, or "" if it has none.
std::string UserName(uid_t uid) {
  passwd entry {};
  passwd* found = nullptr;
  std::array<char, 4096> buffer {};
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return "";
  }
  return found->pw_name;
}

// How often timeouts and deadlines are checked while any task has one.
constexpr std::chrono::milliseconds kTimerTick{10};

// What the task's code is told of its limits (Context::deadline()): the
// monotonic deadline we enforce, as wall-clock time.
shmq::TaskTimeLimits TimeLimitsForTask(int64_t deadline_ns, int64_t timeout_ns) {
  shmq::TaskTimeLimits limits;
  limits.timeout_us = timeout_ns / 1000;
  if (deadline_ns != 0) {
    const int64_t now_unix_us =
        std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count();
    limits.deadline_unix_us = now_unix_us + (deadline_ns - MonotonicNanos()) / 1000;
  }
  return limits;
}

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

TaskRouter::TaskRouter(boost::asio::io_context& io, shmq::TaskQueue& queue,
                       const TaskRegistry& registry, const DaemonConfig& config,
                       KillWorker kill_worker)
    : queue_(queue),
      registry_(registry),
      config_(config),
      kill_worker_(std::move(kill_worker)),
      timer_tick_(io),
      function_stats_(registry.size()) {
  // Reserved, not constructed: a Task is ~230 bytes, so a constructed entry
  // per slot would write ~230 KiB at the default capacity (23 MiB at 100k)
  // before the first task. StoreTask grows the vector within this
  // reservation, so it never reallocates and references into it stay valid.
  tasks_.reserve(queue.geometry().capacity);
  for (const auto& [function, limit] : config.function_limits) {
    gates_.SetLimit("function/" + function, limit);
  }
  if (config.max_in_flight_per_user != 0) {
    gates_.SetPrefixLimit(kUserKeyPrefix, config.max_in_flight_per_user);
  }
}

std::vector<std::string> TaskRouter::GateKeys(const ClientSession& connection,
                                              const v1::Submit& submit) const {
  std::vector<std::string> keys;
  if (!submit.lock().empty()) keys.push_back("lock/" + submit.lock());
  std::string function_key = "function/" + submit.function();
  if (gates_.HasLimit(function_key)) keys.push_back(std::move(function_key));
  if (config_.max_in_flight_per_user != 0) keys.push_back(UserKey(connection.peer_uid()));
  return keys;
}

void TaskRouter::Hold(WaitingTask task) {
  for (const std::string& key : task.keys) ++held_keys_[key];
  gated_.push_back(std::move(task));
}

bool TaskRouter::AnyHeldWith(const std::vector<std::string>& keys) const {
  return std::any_of(keys.begin(), keys.end(),
                     [&](const std::string& key) { return held_keys_.contains(key); });
}

void TaskRouter::Unhold(const WaitingTask& task) {
  for (const std::string& key : task.keys) {
    auto count = held_keys_.find(key);
    if (count != held_keys_.end() && --count->second == 0) held_keys_.erase(count);
  }
}

bool TaskRouter::HeldForUserShare(const WaitingTask& task) const {
  if (config_.max_in_flight_per_user == 0) return false;
  const std::string key = UserKey(task.uid);
  return gates_.active(key) >= gates_.LimitOf(key);
}

void TaskRouter::Submit(const std::shared_ptr<ClientSession>& connection,
                        const v1::Submit& submit) {
  // A chunk counts as its items; a malformed one (rejected below) as one.
  const Result<uint32_t> chunk_items =
      submit.chunk() ? CountChunkItems(submit.payload()) : Result<uint32_t>(1u);
  const uint32_t tasks = chunk_items.ok() ? *chunk_items : 1;
  counters_.submitted += tasks;
  const int64_t accepted_ns = MonotonicNanos();
  Result<uint32_t> function = registry_.Find(submit.function());
  const uint32_t function_index =
      function.ok() ? *function : FunctionStats::kUnknownFunction;
  function_stats_.OnSubmitted(function_index, tasks);
  if (!accepting_) {
    Reject(*connection, function_index, submit.id(), tasks, ErrorCode::kShuttingDown,
           "taskpoold is shutting down and accepts no new tasks");
    return;
  }
  if (connection->in_flight().contains(submit.id())) {
    Reject(*connection, function_index, submit.id(), tasks, ErrorCode::kDuplicateId,
           "task id " + std::to_string(submit.id()) +
               " is already in flight on this connection");
    return;
  }
  // A function this node lacks (or has turned off) may still run on
  // another node; lock keys keep a task on its origin (see README,
  // Running on several machines).
  const bool only_remote = !function.ok() && remote_ != nullptr && submit.lock().empty() &&
                           remote_->CanPublish(*connection, submit, false);
  if (!function.ok() && !only_remote) {
    Reject(*connection, function_index, submit.id(), tasks, function.status().code(),
           function.status().message());
    return;
  }
  if (!chunk_items.ok()) {
    Reject(*connection, function_index, submit.id(), tasks, chunk_items.status().code(),
           chunk_items.status().message());
    return;
  }
  if (submit.payload().size() > config_.max_payload_bytes) {
    Reject(*connection, function_index, submit.id(), tasks, ErrorCode::kPayloadTooLarge,
           "payload of " + std::to_string(submit.payload().size()) +
               " bytes exceeds the limit of " +
               std::to_string(config_.max_payload_bytes) +
               " bytes (taskpoold --max-payload-bytes)");
    return;
  }
  std::vector<std::string> keys = GateKeys(*connection, submit);
  std::optional<ConcurrencyGates::Pass> pass;
  // Tasks sharing a key keep their order: none overtakes a held one. (A
  // held task whose gates opened was let go when they opened, so there is
  // nothing to re-check here.)
  if (!AnyHeldWith(keys)) pass = gates_.TryEnter(keys);
  if (!pass) {
    connection->in_flight().emplace(submit.id(), std::nullopt);
    Hold({connection, connection->peer_uid(), submit, function_index, accepted_ns, {},
          std::move(keys), tasks});
    if (submit.deadline_ms() != 0) ArmTimerTick();
    PauseIfOverLimit(*connection);
    return;
  }
  Admit(connection, submit, function_index, tasks, accepted_ns, std::move(*pass));
}

bool TaskRouter::TryPublish(const std::shared_ptr<ClientSession>& connection,
                            const v1::Submit& submit, uint32_t function_index, uint32_t tasks,
                            int64_t accepted_ns, ConcurrencyGates::Pass& pass) {
  const bool known_here = function_index != FunctionStats::kUnknownFunction;
  // Local first: a task leaves only when no worker here is free. Lock keys
  // and --limit'd functions stay here, where their gates are.
  if (!submit.lock().empty() || (known_here && gates_.HasLimit("function/" + submit.function()))) {
    return false;
  }
  if (known_here && queue_.in_use() < config_.workers) return false;
  if (!remote_->CanPublish(*connection, submit, known_here)) return false;
  connection->in_flight()[submit.id()] = std::nullopt;
  remote_->Publish({connection, submit, function_index, tasks, accepted_ns, std::move(pass)});
  PauseIfOverLimit(*connection);
  return true;
}

void TaskRouter::Admit(const std::shared_ptr<ClientSession>& connection,
                       const v1::Submit& submit, uint32_t function_index,
                       uint32_t tasks, int64_t accepted_ns, ConcurrencyGates::Pass pass,
                       bool may_publish) {
  if (may_publish && remote_ != nullptr &&
      TryPublish(connection, submit, function_index, tasks, accepted_ns, pass)) {
    return;
  }
  if (function_index == FunctionStats::kUnknownFunction) {
    // Only other nodes have it, and none can take it any more.
    connection->in_flight().erase(submit.id());
    Reject(*connection, function_index, submit.id(), tasks, ErrorCode::kUnknownFunction,
           "no live node of the cluster offers function '" + submit.function() +
               "' now, and this node has no such function");
    return;
  }
  // FIFO: nobody overtakes a task already waiting for room.
  if (waiting_.empty() &&
      Enqueue(connection, submit, function_index, tasks, accepted_ns, pass)) {
    PauseIfOverLimit(*connection);
    return;
  }
  if (submit.fail_if_full()) {
    connection->in_flight().erase(submit.id());
    Reject(*connection, function_index, submit.id(), tasks, ErrorCode::kQueueFull,
           "the queue is full (" + std::to_string(queue_.geometry().capacity) +
               " tasks; taskpoold --queue-capacity)");
    return;
  }
  connection->in_flight()[submit.id()] = std::nullopt;
  waiting_.push_back(
      {connection, connection->peer_uid(), submit, function_index, accepted_ns, std::move(pass),
       {}, tasks});
  if (submit.deadline_ms() != 0) ArmTimerTick();
  if (!connection->reading_paused()) {
    connection->PauseReading();
    paused_.push_back(connection);
  }
}

void TaskRouter::AdmitGated() {
  // Keys of tasks still held earlier in the order: later tasks with any of
  // them must not overtake (and need no TryEnter, which keeps a long queue
  // of one flooding user cheap to walk).
  std::unordered_set<std::string> blocked;
  for (auto entry = gated_.begin(); entry != gated_.end();) {
    const std::shared_ptr<ClientSession> connection = entry->connection.lock();
    if (connection == nullptr || connection->closed()) {
      Unhold(*entry);
      entry = gated_.erase(entry);
      continue;
    }
    const std::vector<std::string>& keys = entry->keys;
    std::optional<ConcurrencyGates::Pass> pass;
    if (std::none_of(keys.begin(), keys.end(),
                     [&](const std::string& key) { return blocked.contains(key); })) {
      pass = gates_.TryEnter(keys);
    }
    if (!pass) {
      blocked.insert(keys.begin(), keys.end());
      ++entry;
      continue;
    }
    Unhold(*entry);
    WaitingTask admitted = std::move(*entry);
    entry = gated_.erase(entry);
    Admit(connection, admitted.submit, admitted.function_index, admitted.tasks,
          admitted.accepted_ns, std::move(*pass));
  }
}

template <typename Predicate>
void TaskRouter::DropWaiting(Predicate drop) {
  std::erase_if(waiting_, drop);
  std::erase_if(gated_, [&](const WaitingTask& task) {
    if (!drop(task)) return false;
    Unhold(task);
    return true;
  });
}

bool TaskRouter::Enqueue(const std::shared_ptr<ClientSession>& connection,
                         const v1::Submit& submit, uint32_t function_index,
                         uint32_t tasks, int64_t accepted_ns, ConcurrencyGates::Pass& pass) {
  int64_t deadline_ns = 0;
  if (submit.deadline_ms() != 0) {
    deadline_ns = accepted_ns + int64_t{submit.deadline_ms()} * 1'000'000;
  }
  const uint64_t timeout_ms = submit.timeout_ms() != 0
                                  ? submit.timeout_ms()
                                  : static_cast<uint64_t>(config_.task_timeout.count());
  const int64_t timeout_ns = static_cast<int64_t>(timeout_ms) * 1'000'000;
  Result<shmq::SlotRef> slot =
      queue_.Enqueue(function_index, submit.payload(), 1,
                     TimeLimitsForTask(deadline_ns, timeout_ns), submit.chunk());
  if (!slot.ok()) {
    if (slot.status().code() == ErrorCode::kQueueFull) return false;
    Reject(*connection, function_index, submit.id(), tasks, slot.status().code(),
           slot.status().message());
    return true;
  }
  Task task;
  task.connection = connection;
  task.uid = connection->peer_uid();
  task.connection_id = connection->id();
  task.client_id = submit.id();
  task.slot = *slot;
  task.accepted_ns = accepted_ns;
  task.max_retries = submit.max_retries();
  task.function = submit.function();
  task.function_index = function_index;
  task.client_pid = connection->peer_pid();
  task.pass = std::move(pass);
  task.deadline_ns = deadline_ns;
  task.timeout_ns = timeout_ns;
  task.chunk = submit.chunk();
  task.items = tasks;
  if (NeedsTimer(task)) {
    timed_slots_.push_back(slot->index);
    ArmTimerTick();
  }
  StoreTask(slot->index, std::move(task));
  connection->in_flight()[submit.id()] = *slot;
  return true;
}

void TaskRouter::PauseIfOverLimit(ClientSession& connection) {
  if (connection.in_flight().size() < config_.max_in_flight_per_connection ||
      connection.reading_paused()) {
    return;
  }
  connection.PauseReading();
  paused_.push_back(connection.shared_from_this());
}

void TaskRouter::Cancel(ClientSession& connection, const v1::Cancel& cancel) {
  if (remote_ != nullptr && remote_->Cancel(connection, cancel)) return;
  auto entry = connection.in_flight().find(cancel.id());
  if (entry == connection.in_flight().end()) return;  // finished already
  uint32_t function_index = FunctionStats::kUnknownFunction;
  uint32_t tasks = 1;
  if (!entry->second) {  // still waiting for its gates or for room
    DropWaiting([&](const WaitingTask& task) {
      const bool cancelled = task.submit.id() == cancel.id() &&
                             task.connection.lock().get() == &connection;
      if (cancelled) {
        function_index = task.function_index;
        tasks = task.tasks;
      }
      return cancelled;
    });
  } else if (queue_.TryWithdraw(*entry->second)) {
    if (const Task* task = FindTask(*entry->second)) {
      function_index = task->function_index;
      tasks = task->items;
    }
    ForgetTask(*entry->second);
  } else {
    // Running: unless asked to kill, it is asked to stop early
    // (Context::cancelled()) and its result, whatever it is, is delivered.
    Task* task = FindTask(*entry->second);
    if (cancel.kill_running() && task != nullptr) {
      KillRunning(*task, ErrorCode::kCancelled,
                  "cancelled by the client while running; its worker was "
                  "killed and replaced");
    } else if (task != nullptr) {
      task->cancel_requested = queue_.RequestCancel(task->slot);
    }
    return;
  }
  connection.in_flight().erase(entry);
  Deliver(&connection, function_index,
          MakeResult(cancel.id(), ErrorCode::kCancelled, "cancelled by the client before it ran"),
          tasks);
  AdmitWaiting();
}

void TaskRouter::ConnectionClosed(ClientSession& connection) {
  if (remote_ != nullptr) remote_->ConnectionClosed(connection);
  for (const auto& [id, slot] : connection.in_flight()) {
    if (!slot) continue;
    if (queue_.TryWithdraw(*slot)) {
      ForgetTask(*slot);
    } else {
      // Running: nobody wants its result, so it may stop early; whatever
      // it returns finds the connection closed.
      queue_.RequestCancel(*slot);
    }
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
      [this](const shmq::CompletedTask& completed) { OnCompleted(completed); });
  AdmitWaiting();
  ResumePausedConnections();
}

void TaskRouter::OnCompleted(const shmq::CompletedTask& completed) {
  Task* task = FindTask(completed.slot);
  if (task == nullptr) {
    TP_LOG(kError) << "result for unknown slot " << completed.slot.index;
    return;
  }
  if (task->kill_outcome) {
    // We were killing its worker (timeout, cancel with kill) and it still
    // finished in between: what it returned may be the kill's own doing (a
    // shell job whose process group went first ends "killed by signal 9"),
    // so the outcome stays the one the kill was for.
    auto [code, message] = std::move(*task->kill_outcome);
    LogSlowEndOfRun(*task, code, completed);
    FailTask(*task, code, std::move(message));
    return;
  }
  v1::Result result = MakeResult(
      task->client_id, completed.code,
      completed.code == ErrorCode::kOk ? std::string() : std::string(completed.output));
  // The output stays where the worker wrote it until SendResult copies it
  // into the connection's frame (see result_frame.h).
  const std::string_view output =
      completed.code == ErrorCode::kOk ? completed.output : std::string_view();
  result.set_worker_pid(completed.worker_pid);
  result.set_queue_us(NanosToMicros(completed.started_ns - task->accepted_ns));
  result.set_run_us(NanosToMicros(completed.finished_ns - completed.started_ns));
  result.set_attempts(task->attempts);
  result.set_started_unix_us(static_cast<uint64_t>(completed.started_unix_us));
  result.set_finished_unix_us(static_cast<uint64_t>(completed.finished_unix_us));
  if (remote_ != nullptr) result.set_node(remote_->node_name());
  const uint32_t function_index = task->function_index;
  // A chunk that ran counts item by item; one that failed as a whole (its
  // output too large, say) counts as its items failing.
  const bool chunk_ran = task->chunk && completed.code == ErrorCode::kOk;
  if (chunk_ran) {
    CountChunkOutcomes(function_index, task->client_id, completed.output, result.queue_us());
  } else {
    function_stats_.OnRan(function_index, result.queue_us(), result.run_us());
  }
  const uint32_t tasks = chunk_ran ? 0 : task->items;

  LogSlowEndOfRun(*task, completed.code, completed);
  const std::shared_ptr<ClientSession> connection = task->connection.lock();
  ForgetTask(completed.slot);
  if (connection != nullptr) connection->in_flight().erase(result.id());
  Deliver(connection.get(), function_index, std::move(result), tasks, output);
}

void TaskRouter::CountChunkOutcomes(uint32_t function, uint64_t id, std::string_view output,
                                    uint64_t queue_us) {
  const Result<uint32_t> read = wire::ForEachItemResult(output, [&](const wire::ItemResultView& item) {
    function_stats_.OnRan(function, queue_us, item.run_us);
    CountOutcome(function, item.code, 1);
  });
  if (!read.ok()) {
    TP_LOG(kError) << "chunk " << id << ": " << read.status().message();
  }
}

void TaskRouter::DeliverRemoteResult(const std::shared_ptr<ClientSession>& connection,
                                     uint32_t function_index, uint32_t tasks, bool chunk,
                                     v1::Result&& result) {
  const std::string output = std::move(*result.mutable_output());
  result.clear_output();
  const bool ok = result.code() == v1::OK;
  if (chunk && ok) {
    CountChunkOutcomes(function_index, result.id(), output, result.queue_us());
  } else if (result.worker_pid() != 0) {
    function_stats_.OnRan(function_index, result.queue_us(), result.run_us());
  }
  if (connection != nullptr) connection->in_flight().erase(result.id());
  Deliver(connection.get(), function_index, std::move(result), chunk && ok ? 0 : tasks,
          ok ? std::string_view(output) : std::string_view());
  // Its pass is released: gated and waiting tasks may go on.
  AdmitWaiting();
  ResumePausedConnections();
}

void TaskRouter::RunHere(RemoteSubmission task) {
  if (task.connection == nullptr || task.connection->closed()) return;
  Admit(task.connection, task.submit, task.function_index, task.tasks, task.accepted_ns,
        std::move(task.pass), /*may_publish=*/false);
}

void TaskRouter::WorkerDied(uint32_t worker, pid_t pid,
                            const std::string& cause) {
  ++counters_.workers_died;
  for (const shmq::SlotRef& slot : queue_.RecoverDeadWorker(worker)) {
    Task* task = FindTask(slot);
    if (task == nullptr) {
      queue_.Release(slot);
      continue;
    }
    if (task->slow_logged) {
      LogSlowEnd(*task, "ended (worker " + cause + ")", MonotonicNanos() - task->slow_started_ns,
                 pid);
    }
    if (task->kill_outcome) {  // we killed it on purpose
      queue_.Release(slot);
      auto [code, message] = std::move(*task->kill_outcome);
      FailTask(*task, code, std::move(message));
      continue;
    }
    const std::shared_ptr<ClientSession> connection = task->connection.lock();
    const bool wanted = connection != nullptr && !connection->closed();
    if (wanted && accepting_ && !task->cancel_requested &&
        task->attempts <= task->max_retries) {
      Result<shmq::SlotRef> requeued = queue_.Requeue(slot, task->attempts + 1);
      if (requeued.ok()) {
        TP_LOG(kInfo) << "retrying task " << task->client_id << " ("
                      << task->function << ") after worker " << worker
                      << " (pid " << pid << ") " << cause;
        Task moved = std::move(*task);
        ForgetTask(slot);
        ++moved.attempts;
        moved.slot = *requeued;
        moved.slow_logged = false;  // a new run, watched afresh
        if (NeedsTimer(moved)) {
          timed_slots_.push_back(requeued->index);
          ArmTimerTick();
        }
        connection->in_flight()[moved.client_id] = *requeued;
        StoreTask(requeued->index, std::move(moved));
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
  if (remote_ != nullptr) remote_->CancelAll(reason);
  for (std::optional<Task>& task : tasks_) {
    if (task && queue_.TryWithdraw(task->slot)) {
      FailTask(*task, ErrorCode::kCancelled, reason);
    }
  }
  DropWaiting([&](const WaitingTask& waiting) {
    if (const std::shared_ptr<ClientSession> connection = waiting.connection.lock()) {
      connection->in_flight().erase(waiting.submit.id());
      Deliver(connection.get(), waiting.function_index,
              MakeResult(waiting.submit.id(), ErrorCode::kCancelled, reason),
              waiting.tasks);
    }
    return true;
  });
}

void TaskRouter::RequestCancelRunning() {
  for (const std::optional<Task>& task : tasks_) {
    if (task) queue_.RequestCancel(task->slot);
  }
}

void TaskRouter::FillUsers(v1::StatusReply* status) const {
  struct Counts {
    uint32_t in_flight = 0;
    uint32_t held = 0;
  };
  std::map<uid_t, Counts> users;
  for (const std::optional<Task>& task : tasks_) {
    if (task) ++users[task->uid].in_flight;
  }
  for (const WaitingTask& task : waiting_) ++users[task.uid].in_flight;
  for (const WaitingTask& task : gated_) {
    Counts& counts = users[task.uid];
    ++(HeldForUserShare(task) ? counts.held : counts.in_flight);
  }
  for (const auto& [uid, counts] : users) {
    v1::UserStatus* user = status->add_users();
    user->set_uid(uid);
    user->set_name(UserName(uid));
    user->set_in_flight(counts.in_flight);
    user->set_held(counts.held);
  }
}

void TaskRouter::AdmitWaiting() {
  while (!waiting_.empty()) {
    WaitingTask& next = waiting_.front();
    const std::shared_ptr<ClientSession> connection = next.connection.lock();
    if (connection != nullptr && !connection->closed()) {
      if (!Enqueue(connection, next.submit, next.function_index, next.tasks,
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
  std::erase_if(paused_, [this](const std::weak_ptr<ClientSession>& weak) {
    const std::shared_ptr<ClientSession> connection = weak.lock();
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
    if (!task || !NeedsTimer(*task)) return true;
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
  const shmq::WorkerActivity activity = queue_.activity(*worker);
  if (config_.slowlog.count() != 0 && !task.slow_logged && activity.busy &&
      now_ns - activity.started_ns >= config_.slowlog.count() * 1'000'000) {
    LogSlowStart(task, *worker, activity, now_ns);
  }
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
                             "room in the queue); it never ran"),
              waiting.tasks);
    }
    return true;
  });
}

bool TaskRouter::NeedsTimer(const Task& task) const {
  return task.deadline_ns != 0 || task.timeout_ns != 0 ||
         (config_.slowlog.count() != 0 && !task.slow_logged);
}

// Like PHP-FPM's slowlog: who asked, what runs where, for how long. Never
// the payload.
void TaskRouter::LogSlowStart(Task& task, uint32_t worker, const shmq::WorkerActivity& activity,
                              int64_t now_ns) {
  task.slow_logged = true;
  task.slow_started_ns = activity.started_ns;
  TP_LOG(kWarning) << "slowlog: task " << task.client_id << " (" << task.function
                   << ", connection " << task.connection_id << ", client pid "
                   << task.client_pid << ") still running after "
                   << (now_ns - activity.started_ns) / 1'000'000 << " ms on worker " << worker
                   << " (pid " << activity.pid << "; --slowlog-ms "
                   << config_.slowlog.count() << ")";
}

void TaskRouter::LogSlowEndOfRun(const Task& task, ErrorCode code,
                                 const shmq::CompletedTask& completed) {
  if (!task.slow_logged) return;
  LogSlowEnd(task, std::string("ended ") + std::string(ErrorCodeName(code)),
             completed.finished_ns - completed.started_ns, completed.worker_pid);
}

void TaskRouter::LogSlowEnd(const Task& task, const std::string& outcome, int64_t run_ns,
                            pid_t worker_pid) {
  TP_LOG(kWarning) << "slowlog: task " << task.client_id << " (" << task.function
                   << ", connection " << task.connection_id << ", client pid "
                   << task.client_pid << ") " << outcome << " after a run of "
                   << std::max<int64_t>(run_ns, 0) / 1'000'000 << " ms on worker pid "
                   << worker_pid;
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
  const std::shared_ptr<ClientSession> connection = task.connection.lock();
  const uint64_t id = task.client_id;
  const uint32_t function_index = task.function_index;
  const uint32_t tasks = task.items;
  v1::Result result = MakeResult(id, code, std::move(message));
  result.set_attempts(task.attempts);
  if (remote_ != nullptr) result.set_node(remote_->node_name());
  ForgetTask(task.slot);
  if (connection != nullptr) connection->in_flight().erase(id);
  Deliver(connection.get(), function_index, std::move(result), tasks);
}

void TaskRouter::Reject(ClientSession& connection, uint32_t function, uint64_t id,
                        uint32_t tasks, ErrorCode code, std::string message) {
  Deliver(&connection, function, MakeResult(id, code, std::move(message)), tasks);
}

void TaskRouter::CountOutcome(uint32_t function, ErrorCode code, uint64_t tasks) {
  function_stats_.OnFinished(function, code, tasks);
  if (code == ErrorCode::kOk) {
    counters_.succeeded += tasks;
  } else {
    counters_.failed += tasks;
  }
}

void TaskRouter::Deliver(ClientSession* connection, uint32_t function, v1::Result&& result,
                         uint64_t tasks, std::string_view output) {
  CountOutcome(function, static_cast<ErrorCode>(result.code()), tasks);
  if (connection != nullptr) connection->SendResult(result, output);
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

void TaskRouter::StoreTask(uint32_t index, Task task) {
  // Slots are handed out lowest index first, so the vector grows only as
  // far as the deepest queue so far.
  if (index >= tasks_.size()) tasks_.resize(index + 1);
  tasks_[index] = std::move(task);
  ++tasks_in_queue_;
}

TaskRouter::Task* TaskRouter::FindTask(shmq::SlotRef slot) {
  if (slot.index >= tasks_.size()) return nullptr;
  std::optional<Task>& task = tasks_[slot.index];
  if (!task || task->slot.generation != slot.generation) return nullptr;
  return &*task;
}

void TaskRouter::ForgetTask(shmq::SlotRef slot) {
  if (slot.index >= tasks_.size()) return;
  std::optional<Task>& task = tasks_[slot.index];
  if (task && task->slot.generation == slot.generation) {
    task.reset();
    --tasks_in_queue_;
  }
}

}  // namespace taskpool::daemon
