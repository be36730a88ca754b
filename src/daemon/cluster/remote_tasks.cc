#include "daemon/cluster/remote_tasks.h"

#include <chrono>
#include <cstdio>

#include "base/log.h"
#include "daemon/route/settlement.h"
#include "daemon/route/task_router.h"

namespace taskpool::cluster {

namespace {

using base::SteadyClock;
using base::SteadyTime;

std::string Hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// A result without a run; Finish sets its id.
taskpool::v1::Result MakeResult(ErrorCode code, std::string error) {
  return daemon::MakeResult(0, Status(code, std::move(error)));
}

std::string Milliseconds(std::chrono::steady_clock::duration duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
}

}  // namespace

RemoteTasks::RemoteTasks(boost::asio::io_context& io, const daemon::DaemonConfig& config,
                         uint64_t incarnation, daemon::TaskRouter& router, AgentLink& link)
    : config_(config),
      incarnation_(incarnation),
      router_(router),
      link_(link),
      deadline_timer_(io) {}

bool RemoteTasks::CanPublish(const daemon::TaskClient& client, const taskpool::v1::Submit& submit,
                             bool) const {
  if (FromTheQueue(client) || !link_.queue_reachable()) return false;
  // Bounded like the local queue: beyond this, tasks wait here.
  if (tasks_.size() >= config_.queue_capacity) return false;
  return link_.nodes().AnyOtherHas(submit.function(), SteadyClock::now());
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
  const SteadyTime now = SteadyClock::now();
  if (submission.submit.deadline_ms() != 0) {
    task.deadline =
        submission.accepted + std::chrono::milliseconds(submission.submit.deadline_ms());
    // The deadline as wall time, for the node that runs it.
    const base::WallTime wall = base::WallClock::now() + (*task.deadline - now);
    remote.set_deadline_unix_ms(base::UnixMicros(wall) / 1000);
    deadlines_.emplace(*task.deadline, uid);
    ArmDeadlineTimer();
  }
  publish.set_any_node(link_.nodes().AllHave(submission.submit.function(), now));
  task.connection_id = submission.client;
  task.client_id = submission.submit.id();
  task.function_index = submission.function_index;
  task.tasks = submission.tasks;
  task.chunk = submission.submit.chunk();
  task.function = submission.submit.function();
  task.max_retries = submission.submit.max_retries();
  task.accepted = submission.accepted;
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
  back.client = task.connection_id;
  back.submit = task.unconfirmed->task().submit();
  back.submit.set_id(task.client_id);
  back.function_index = task.function_index;
  back.tasks = task.tasks;
  back.accepted = task.accepted;
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
  const uint64_t elapsed_us = base::WireMicros(SteadyClock::now() - task.accepted);
  result.set_queue_us(elapsed_us > result.run_us() ? elapsed_us - result.run_us() : 0);
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
  router_.DeliverRemoteResult(task.connection_id, task.function_index, task.tasks, task.chunk,
                              std::move(result));
}

void RemoteTasks::BroadcastCancel(const std::string& uid, bool kill) {
  v1::ToAgent message;
  message.mutable_cancel()->set_uid(uid);
  message.mutable_cancel()->set_kill(kill);
  link_.SendToAgent(message);
}

std::optional<std::string> RemoteTasks::FindUid(uint64_t connection_id, uint64_t id) const {
  auto client = by_client_.find(connection_id);
  if (client == by_client_.end()) return std::nullopt;
  auto found = client->second.find(id);
  if (found == client->second.end()) return std::nullopt;
  return found->second;
}

bool RemoteTasks::Cancel(const daemon::TaskClient& client, const taskpool::v1::Cancel& cancel) {
  const std::optional<std::string> uid = FindUid(client.id(), cancel.id());
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

std::vector<daemon::RemoteDrop> RemoteTasks::ConnectionClosed(
    const daemon::TaskClient& closed) {
  std::vector<daemon::RemoteDrop> dropped;
  auto client = by_client_.find(closed.id());
  if (client == by_client_.end()) return dropped;
  const std::unordered_map<uint64_t, std::string> uids = std::move(client->second);
  by_client_.erase(client);
  for (const auto& [id, uid] : uids) {
    BroadcastCancel(uid, /*kill=*/false);
    if (auto task = tasks_.find(uid); task != tasks_.end()) {
      dropped.push_back({task->second.function_index, task->second.tasks});
      tasks_.erase(task);  // nobody to answer; releases its pass
    }
  }
  return dropped;
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
  deadline_timer_.expires_at(deadlines_.begin()->first);
  deadline_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) CheckDeadlines();
  });
}

void RemoteTasks::CheckDeadlines() {
  const SteadyTime now = SteadyClock::now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const std::string uid = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto found = tasks_.find(uid);
    if (found == tasks_.end()) continue;  // answered already
    const Task& task = found->second;
    const std::string deadline_ms = Milliseconds(*task.deadline - task.accepted);
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
