#include "daemon/cluster/agent/remote_runner.h"


#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "wire/error_code.h"

namespace taskpool::cluster {

namespace {

constexpr size_t kCancelledRemembered = 10000;

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}


}  // namespace

RemoteRunner::RemoteRunner(boost::asio::io_context& io, const v1::AgentConfig& config,
                           NatsLink& link, BlockingWorker& publisher, const NodeTable& nodes,
                           TaskFetcher& fetcher, v1::AgentCounters& counters)
    : io_(io),
      config_(config),
      subjects_(config.queue()),
      link_(link),
      publisher_(publisher),
      nodes_(nodes),
      fetcher_(fetcher),
      counters_(counters) {}

void RemoteRunner::Start(std::shared_ptr<FramedChannel> daemon) {
  daemon_ = std::move(daemon);
  daemon_->Start([this](std::string_view body) { OnDaemonFrame(body); },
                 [this](const std::string& why) {
                   if (!why.empty()) TP_LOG(kDebug) << "daemon connection closed: " << why;
                   Drain();
                 });
  taskpool::v1::ClientMessage hello;
  hello.mutable_hello()->set_protocol_version(taskpool::v1::PROTOCOL_VERSION_CURRENT);
  hello.mutable_hello()->set_client_name("taskpoold-cluster (node " + config_.node() + ")");
  daemon_->Send(hello);
}

void RemoteRunner::OnDaemonFrame(std::string_view body) {
  taskpool::v1::ServerMessage message;
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    TP_LOG(kError) << "unreadable message from the daemon";
    return;
  }
  switch (message.kind_case()) {
    case taskpool::v1::ServerMessage::kHello:
      greeted_ = true;
      break;
    case taskpool::v1::ServerMessage::kResult:
      OnLocalResult(*message.mutable_result());
      break;
    case taskpool::v1::ServerMessage::kResultBatch:
      for (taskpool::v1::Result& result : *message.mutable_result_batch()->mutable_results()) {
        OnLocalResult(result);
      }
      break;
    case taskpool::v1::ServerMessage::kError:
      TP_LOG(kError) << "the daemon refused the agent's connection: "
                     << message.error().message();
      break;
    default:
      break;
  }
}

void RemoteRunner::OnFetched(std::vector<OwnedMessage> messages) {
  for (OwnedMessage& message : messages) {
    --fetcher_.in_hand();
    Take(std::move(message));
  }
  UpdateAllowance();
}

void RemoteRunner::Take(OwnedMessage message) {
  v1::RemoteTask task;
  if (!task.ParseFromArray(natsMsg_GetData(message.get()), natsMsg_GetDataLength(message.get()))) {
    TP_LOG(kError) << "dropping an unreadable task from the work queue (subject "
                   << natsMsg_GetSubject(message.get()) << ")";
    natsMsg_Term(message.get(), nullptr);
    return;
  }
  uint32_t delivered = 1;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, message.get()) == NATS_OK) {
    delivered = static_cast<uint32_t>(meta->NumDelivered);
    jsMsgMetaData_Destroy(meta);
  }
  const uint32_t deliveries = task.prior_deliveries() + delivered;
  const uint64_t key = next_key_++;
  held_.emplace(key, Held{std::move(message), task.uid(), task.origin(), deliveries - 1, false});
  natsMsg* held = held_.at(key).message.get();

  if (cancelled_.contains(task.uid()) ||
      nodes_.OriginGone(task.origin(), task.origin_incarnation(), base::SteadyClock::now())) {
    TP_LOG(kDebug) << "dropping task " << task.uid() << ": its origin no longer waits for it";
    counters_.set_dropped(counters_.dropped() + 1);
    Ack(held);
    held_.erase(key);
    return;
  }
  const auto& functions = config_.functions();
  if (std::find(functions.begin(), functions.end(), task.submit().function()) == functions.end()) {
    // Published for every node while this one was not yet known: it goes
    // to its function's own subject, with its deliveries so far.
    Requeue(key, subjects_.function_tasks(task.submit().function()));
    return;
  }
  if (Allowance() <= 0) {
    // A fetch asked for while a worker was free, answered after local
    // tasks took it: hand the task back rather than hoard it.
    Requeue(key, natsMsg_GetSubject(held));
    return;
  }
  const uint32_t max_attempts = AttemptsAllowed(task.submit().max_retries());
  if (AttemptsUsedUp(deliveries, task.submit().max_retries())) {
    TP_LOG(kWarning) << "task " << task.uid() << " (" << task.submit().function()
                     << ") was delivered " << deliveries - 1
                     << " time(s) to nodes that were lost; its attempts are used up";
    counters_.set_lost(counters_.lost() + 1);
    Answer(key, ErrorCode::kWorkerDied, "", /*lost=*/true, deliveries - 1);
    return;
  }
  int64_t remaining_ms = 0;
  if (task.deadline_unix_ms() != 0) {
    remaining_ms = task.deadline_unix_ms() - UnixMillis();
    if (remaining_ms <= 0) {
      Answer(key, ErrorCode::kExpired,
             "deadline passed while the task waited in the cluster's queue; it never ran",
             false, deliveries - 1);
      return;
    }
  }
  taskpool::v1::ClientMessage submit;
  taskpool::v1::Submit& local = *submit.mutable_submit();
  local = task.submit();
  local.set_id(key);
  if (remaining_ms > 0) {
    local.set_deadline_ms(static_cast<uint32_t>(std::min<int64_t>(remaining_ms, UINT32_MAX)));
  }
  // Deaths of a worker here are retried here, within the same allowance.
  local.set_max_retries(max_attempts - deliveries);
  TP_LOG(kDebug) << "running task " << task.uid() << " (" << task.submit().function()
                 << ", delivery " << delivered << ") here as " << key;
  daemon_->Send(submit);
  held_.at(key).submitted = true;
  ++submitted_;
  by_uid_[task.uid()] = key;
  counters_.set_fetched(counters_.fetched() + 1);
  if (delivered > 1) counters_.set_redelivered(counters_.redelivered() + 1);
  v1::TaskStarted started;
  started.set_uid(task.uid());
  started.set_node(config_.node());
  started.set_attempt(deliveries);
  (void)link_.PublishCore(subjects_.started_for(task.origin()), started.SerializeAsString());
}

void RemoteRunner::OnLocalResult(taskpool::v1::Result& result) {
  auto found = held_.find(result.id());
  if (found == held_.end() || !found->second.submitted) return;
  Held& held = found->second;
  held.submitted = false;
  --submitted_;
  by_uid_.erase(held.uid);
  if (result.code() == taskpool::v1::SHUTTING_DOWN || result.code() == taskpool::v1::QUEUE_FULL) {
    // Fetched just as this node began to stop, or as its last free worker
    // was taken (TaskRouter::Submit): another node runs it.
    Requeue(found->first, natsMsg_GetSubject(held.message.get()));
    UpdateAllowance();
    return;
  }
  v1::RemoteResult remote;
  remote.set_uid(held.uid);
  remote.set_node(config_.node());
  result.set_id(0);
  result.set_attempts(held.earlier_deliveries + std::max<uint32_t>(result.attempts(), 1));
  *remote.mutable_result() = std::move(result);
  SendResult(found->first, held.origin, std::move(remote));
  UpdateAllowance();
}

void RemoteRunner::Answer(uint64_t key, ErrorCode code, std::string error, bool lost,
                          uint32_t attempts) {
  const Held& held = held_.at(key);
  v1::RemoteResult remote;
  remote.set_uid(held.uid);
  remote.set_node(config_.node());
  remote.set_lost(lost);
  remote.mutable_result()->set_code(wire::ToWireCode(code));
  remote.mutable_result()->set_error(std::move(error));
  remote.mutable_result()->set_attempts(attempts);
  SendResult(key, held.origin, std::move(remote));
}

void RemoteRunner::SendResult(uint64_t key, const std::string& origin, v1::RemoteResult result) {
  std::string data = result.SerializeAsString();
  const std::string msg_id = result.uid() + ":result";
  publisher_.Post([this, key, subject = subjects_.results_for(origin), data = std::move(data),
                   msg_id, uid = result.uid(), node = config_.node()]() mutable {
    Status published = link_.PublishRetrying(subject, data, msg_id, [this] { return publisher_.stopping(); });
    if (!published.ok() && !publisher_.stopping()) {
      // Too large for NATS, say: the origin still gets one result.
      v1::RemoteResult failed;
      failed.set_uid(uid);
      failed.set_node(node);
      failed.mutable_result()->set_code(taskpool::v1::PAYLOAD_TOO_LARGE);
      failed.mutable_result()->set_error("its result (" + std::to_string(data.size()) +
                                         " bytes) could not go through the cluster: " +
                                         published.message());
      published = link_.PublishRetrying(subject, failed.SerializeAsString(), msg_id,
                                          [this] { return publisher_.stopping(); });
    }
    boost::asio::post(io_, [this, key, published] {
      auto found = held_.find(key);
      if (found == held_.end()) return;
      if (published.ok()) {
        TP_LOG(kDebug) << "sent the result of task " << found->second.uid;
        Ack(found->second.message.get());
        counters_.set_results_sent(counters_.results_sent() + 1);
      } else {
        TP_LOG(kError) << "could not send the result of task " << found->second.uid << ": "
                       << published.message() << "; it will be redelivered";
      }
      held_.erase(found);
    });
  });
}

void RemoteRunner::Requeue(uint64_t key, const std::string& subject) {
  Held& held = held_.at(key);
  v1::RemoteTask task;
  task.ParseFromArray(natsMsg_GetData(held.message.get()), natsMsg_GetDataLength(held.message.get()));
  // Not run here, so this delivery is no attempt.
  task.set_prior_deliveries(held.earlier_deliveries);
  const std::string msg_id = task.uid() + ":moved:" + config_.node() + ":" + std::to_string(key);
  publisher_.Post([this, key, subject, msg_id, data = task.SerializeAsString()] {
    const Status published = link_.PublishRetrying(subject, data, msg_id, [this] { return publisher_.stopping(); });
    boost::asio::post(io_, [this, key, published, subject] {
      auto found = held_.find(key);
      if (found == held_.end()) return;
      if (published.ok()) {
        Ack(found->second.message.get());
        (void)link_.PublishCore(subject.substr(0, subject.find(".tasks.")) + ".avail." +
                                    subject.substr(subject.rfind('.') + 1),
                                "");
      } else {
        TP_LOG(kError) << "could not hand task " << found->second.uid << " on: "
                       << published.message() << "; it will be redelivered";
      }
      held_.erase(found);
    });
  });
}

void RemoteRunner::Ack(natsMsg* message) { natsMsg_Ack(message, nullptr); }

void RemoteRunner::OnCancel(const v1::CancelTask& cancel) {
  RememberCancelled(cancel.uid());
  auto found = by_uid_.find(cancel.uid());
  if (found == by_uid_.end()) return;
  taskpool::v1::ClientMessage message;
  message.mutable_cancel()->set_id(found->second);
  message.mutable_cancel()->set_kill_running(cancel.kill());
  daemon_->Send(message);
}

void RemoteRunner::RememberCancelled(const std::string& uid) {
  if (!cancelled_.insert(uid).second) return;
  cancelled_order_.push_back(uid);
  if (cancelled_order_.size() > kCancelledRemembered) {
    cancelled_.erase(cancelled_order_.front());
    cancelled_order_.pop_front();
  }
}

void RemoteRunner::SetLoad(const v1::NodeLoad& load) {
  load_ = load;
  UpdateAllowance();
}

void RemoteRunner::Drain() {
  draining_ = true;
  UpdateAllowance();
}

int RemoteRunner::Allowance() const {
  if (draining_ || load_.draining()) return 0;
  // Submitted but not yet accepted by the router: those will take workers
  // that free_workers still counts as idle.
  const int in_transit = std::max(0, static_cast<int>(submitted_) -
                                         static_cast<int>(load_.agent_in_router()));
  return std::max(0, static_cast<int>(load_.free_workers()) - in_transit);
}

void RemoteRunner::UpdateAllowance() { fetcher_.SetAllowance(Allowance()); }

void RemoteRunner::KeepAlive() {
  for (const auto& [key, held] : held_) natsMsg_InProgress(held.message.get(), nullptr);
}

}  // namespace taskpool::cluster
