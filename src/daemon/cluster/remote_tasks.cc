#include "daemon/cluster/remote_tasks.h"

#include <chrono>
#include <cstdio>

#include "base/log.h"
#include "daemon/route/function_stats.h"
#include "daemon/route/task_router.h"
#include "daemon/serve/client_session.h"

namespace taskpool::cluster {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

taskpool::v1::Result MakeResult(ErrorCode code, std::string error) {
  taskpool::v1::Result result;
  result.set_code(static_cast<taskpool::v1::ErrorCode>(code));
  result.set_error(std::move(error));
  return result;
}

}  // namespace

RemoteTasks::RemoteTasks(boost::asio::io_context& io, const daemon::DaemonConfig& config,
                         uint64_t incarnation, daemon::TaskRouter& router, AgentLink& link)
    : config_(config),
      incarnation_(incarnation),
      router_(router),
      link_(link),
      deadline_timer_(io) {}

bool RemoteTasks::CanPublish(const daemon::ClientSession& connection,
                             const taskpool::v1::Submit& submit, bool) const {
  if (link_.IsAgentConnection(connection) || !link_.queue_reachable()) return false;
  // Bounded like the local queue: beyond this, tasks wait here.
  if (tasks_.size() >= config_.queue_capacity) return false;
  return link_.nodes().AnyOtherHas(submit.function(), daemon::MonotonicNanos());
}

void RemoteTasks::Publish(daemon::RemoteSubmission submission) {
  const std::string uid =
      config_.cluster.node_name + ":" + Hex(incarnation_) + ":" + std::to_string(next_sequence_++);
  v1::PublishTask publish;
  v1::RemoteTask& remote = *publish.mutable_task();
  remote.set_uid(uid);
  remote.set_origin(config_.cluster.node_name);
  remote.set_origin_incarnation(incarnation_);
  taskpool::v1::Submit& submit = *remote.mutable_submit();
  submit = submission.submit;
  submit.set_id(0);
  submit.set_fail_if_full(false);
  // "0: the daemon's default" means the origin's default, wherever it runs.
  if (submit.timeout_ms() == 0) {
    submit.set_timeout_ms(static_cast<uint32_t>(config_.task_timeout.count()));
  }
  Task task;
  if (submission.submit.deadline_ms() != 0) {
    task.deadline_ns =
        submission.accepted_ns + int64_t{submission.submit.deadline_ms()} * kNanosPerMilli;
    remote.set_deadline_unix_ms(UnixMillis() +
                                (task.deadline_ns - daemon::MonotonicNanos()) / kNanosPerMilli);
    deadlines_.emplace(task.deadline_ns, uid);
    ArmDeadlineTimer();
  }
  const int64_t now_ns = daemon::MonotonicNanos();
  publish.set_any_node(link_.nodes().AllHave(submission.submit.function(), now_ns));
  task.connection = submission.connection;
  task.connection_id = submission.connection->id();
  task.client_id = submission.submit.id();
  task.function_index = submission.function_index;
  task.tasks = submission.tasks;
  task.chunk = submission.submit.chunk();
  task.function = submission.submit.function();
  task.max_retries = submission.submit.max_retries();
  task.accepted_ns = submission.accepted_ns;
  task.pass = std::move(submission.pass);
  v1::ToAgent message;
  *message.mutable_publish() = publish;
  task.unconfirmed = std::move(publish);
  by_client_[task.connection_id][task.client_id] = uid;
  tasks_.emplace(uid, std::move(task));
  link_.SendToAgent(message);
}

void RemoteTasks::ResendUnconfirmed() {
  for (const auto& [uid, task] : tasks_) {
    if (!task.unconfirmed) continue;
    v1::ToAgent message;
    *message.mutable_publish() = *task.unconfirmed;
    link_.SendToAgent(message);
  }
}

void RemoteTasks::OnPublished(const std::string& uid) {
  auto found = tasks_.find(uid);
  if (found == tasks_.end() || !found->second.unconfirmed) return;
  // Stored in the stream: the payload need not stay here too.
  found->second.unconfirmed.reset();
  ++counters_.published;
}

void RemoteTasks::OnPublishFailed(const v1::PublishFailed& failed) {
  auto found = tasks_.find(failed.uid());
  if (found == tasks_.end() || !found->second.unconfirmed) return;
  Task task = std::move(found->second);
  tasks_.erase(found);
  by_client_[task.connection_id].erase(task.client_id);
  TP_LOG(kWarning) << "the work queue refused task " << task.client_id << " (" << task.function
                   << "): " << failed.reason() << "; running it here";
  daemon::RemoteSubmission back;
  back.connection = task.connection.lock();
  back.submit = task.unconfirmed->task().submit();
  back.submit.set_id(task.client_id);
  back.function_index = task.function_index;
  back.tasks = task.tasks;
  back.accepted_ns = task.accepted_ns;
  back.pass = std::move(task.pass);
  router_.RunHere(std::move(back));
}

void RemoteTasks::OnStarted(const v1::TaskStarted& started) {
  auto found = tasks_.find(started.uid());
  if (found != tasks_.end()) found->second.started_on = started.node();
}

void RemoteTasks::OnResult(v1::RemoteResult&& remote) {
  auto found = tasks_.find(remote.uid());
  if (found == tasks_.end()) {
    ++counters_.duplicates_dropped;
    TP_LOG(kDebug) << "dropping a second result for task " << remote.uid() << " (from node "
                   << remote.node() << ")";
    return;
  }
  const Task& task = found->second;
  taskpool::v1::Result result = std::move(*remote.mutable_result());
  result.set_node(remote.node());
  if (remote.lost()) {
    const std::string lost = task.started_on.empty() ? "" : task.started_on;
    result.set_node(lost);
    result.set_code(taskpool::v1::WORKER_DIED);
    result.set_error((lost.empty() ? std::string("the node running it") : "node " + lost) +
                     " was lost (it stopped reporting to the cluster) while running " +
                     task.function + "; " + std::to_string(result.attempts()) +
                     " attempt(s) made, max_retries " + std::to_string(task.max_retries));
  }
  // From acceptance here to its start there, the network included.
  const int64_t elapsed_us = (daemon::MonotonicNanos() - task.accepted_ns) / 1000;
  const int64_t run_us = static_cast<int64_t>(result.run_us());
  result.set_queue_us(elapsed_us > run_us ? static_cast<uint64_t>(elapsed_us - run_us) : 0);
  ++counters_.remote_results;
  Finish(remote.uid(), std::move(result));
}

void RemoteTasks::Finish(const std::string& uid, taskpool::v1::Result result) {
  auto found = tasks_.find(uid);
  if (found == tasks_.end()) return;
  Task task = std::move(found->second);
  tasks_.erase(found);
  auto client = by_client_.find(task.connection_id);
  if (client != by_client_.end()) {
    client->second.erase(task.client_id);
    if (client->second.empty()) by_client_.erase(client);
  }
  result.set_id(task.client_id);
  // The pass goes before the router admits what waited for it.
  { daemon::ConcurrencyGates::Pass released = std::move(task.pass); }
  router_.DeliverRemoteResult(task.connection.lock(), task.function_index, task.tasks, task.chunk,
                              std::move(result));
}

void RemoteTasks::BroadcastCancel(const std::string& uid, bool kill) {
  v1::ToAgent message;
  message.mutable_cancel()->set_uid(uid);
  message.mutable_cancel()->set_kill(kill);
  link_.SendToAgent(message);
}

std::optional<std::string> RemoteTasks::FindUid(const daemon::ClientSession& connection,
                                                uint64_t id) const {
  auto client = by_client_.find(connection.id());
  if (client == by_client_.end()) return std::nullopt;
  auto found = client->second.find(id);
  if (found == client->second.end()) return std::nullopt;
  return found->second;
}

bool RemoteTasks::Cancel(daemon::ClientSession& connection, const taskpool::v1::Cancel& cancel) {
  const std::optional<std::string> uid = FindUid(connection, cancel.id());
  if (!uid) return false;
  const Task& task = tasks_.at(*uid);
  BroadcastCancel(*uid, cancel.kill_running());
  if (task.started_on.empty()) {
    // Not started anywhere as far as we know: a node fetching it later
    // drops it, one starting it now is told to stop, and any result it
    // still sends is a duplicate.
    Finish(*uid, MakeResult(ErrorCode::kCancelled, "cancelled by the client before it ran"));
  } else if (cancel.kill_running()) {
    const std::string node = task.started_on;
    Finish(*uid, MakeResult(ErrorCode::kCancelled,
                            "cancelled by the client while running on node " + node +
                                "; its worker there is killed and replaced"));
  }
  // Running elsewhere without kill: asked to stop; its result still comes.
  return true;
}

void RemoteTasks::ConnectionClosed(daemon::ClientSession& connection) {
  auto client = by_client_.find(connection.id());
  if (client == by_client_.end()) return;
  const std::unordered_map<uint64_t, std::string> uids = std::move(client->second);
  by_client_.erase(client);
  for (const auto& [id, uid] : uids) {
    BroadcastCancel(uid, /*kill=*/false);
    tasks_.erase(uid);  // nobody to answer; releases its pass
  }
}

void RemoteTasks::CancelAll(const std::string& reason) {
  std::vector<std::string> uids;
  uids.reserve(tasks_.size());
  for (const auto& [uid, task] : tasks_) uids.push_back(uid);
  for (const std::string& uid : uids) {
    BroadcastCancel(uid, /*kill=*/true);
    Finish(uid, MakeResult(ErrorCode::kCancelled, reason));
  }
}

void RemoteTasks::AbandonAll(const std::string& why) {
  std::vector<std::string> uids;
  for (const auto& [uid, task] : tasks_) uids.push_back(uid);
  if (!uids.empty()) {
    TP_LOG(kError) << "cluster: giving up on " << uids.size() << " remote tasks: " << why;
  }
  for (const std::string& uid : uids) {
    const std::string node = tasks_.at(uid).started_on;
    taskpool::v1::Result result = MakeResult(ErrorCode::kWorkerDied, why);
    result.set_node(node);
    Finish(uid, std::move(result));
  }
}

void RemoteTasks::ArmDeadlineTimer() {
  if (deadlines_.empty()) return;
  const int64_t wait_ns = std::max<int64_t>(0, deadlines_.begin()->first - daemon::MonotonicNanos());
  deadline_timer_.expires_after(std::chrono::nanoseconds(wait_ns));
  deadline_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) CheckDeadlines();
  });
}

void RemoteTasks::CheckDeadlines() {
  const int64_t now_ns = daemon::MonotonicNanos();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ns) {
    const std::string uid = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto found = tasks_.find(uid);
    if (found == tasks_.end()) continue;  // answered already
    const Task& task = found->second;
    const std::string deadline_ms = std::to_string((task.deadline_ns - task.accepted_ns) / kNanosPerMilli);
    BroadcastCancel(uid, /*kill=*/true);
    if (task.started_on.empty()) {
      Finish(uid, MakeResult(ErrorCode::kExpired,
                             "deadline of " + deadline_ms +
                                 " ms passed while the task waited in the cluster's queue; it "
                                 "never ran"));
    } else {
      const std::string node = task.started_on;
      Finish(uid, MakeResult(ErrorCode::kTimeout,
                             "still running on node " + node + " at its deadline of " +
                                 deadline_ms + " ms; its worker there is killed"));
    }
  }
  ArmDeadlineTimer();
}

}  // namespace taskpool::cluster
