#include "daemon/cluster/agent/agent.h"

#include <boost/asio/post.hpp>

#include "base/clock.h"
#include "base/log.h"

namespace taskpool::cluster {

namespace {

using Socket = boost::asio::local::stream_protocol::socket;

// After a failed set-up (no JetStream yet, a leader election): try again.
constexpr std::chrono::seconds kSetUpRetry{1};
// At stop: how long held tasks and unsent publishes may take.
constexpr std::chrono::seconds kStopBound{3};
constexpr size_t kMaxFrameBytes = (1u << 30) + (1u << 21);

}  // namespace

Agent::Agent(v1::AgentConfig config, int control_fd, int daemon_fd)
    : config_(std::move(config)),
      subjects_(config_.queue()),
      nodes_(config_.node(), config_.incarnation(), config_.heartbeat_ms(),
             base::SteadyClock::now()),
      control_(std::make_shared<FramedChannel>(
          Socket(io_, boost::asio::local::stream_protocol(), control_fd), kMaxFrameBytes)),
      daemon_(std::make_shared<FramedChannel>(
          Socket(io_, boost::asio::local::stream_protocol(), daemon_fd), kMaxFrameBytes)),
      tick_timer_(io_),
      keep_alive_timer_(io_),
      stop_timer_(io_),
      idle_timer_(io_) {}

Agent::~Agent() {
  // Threads first: they post to io_ and use the link.
  task_fetcher_.reset();
  result_fetcher_.reset();
  publisher_.reset();
  runner_.reset();
  link_.reset();
}

int Agent::Run() {
  control_->Start([this](std::string_view body) { OnControl(body); },
                  [this](const std::string&) { BeginStop(); });
  Result<std::unique_ptr<NatsLink>> link = NatsLink::Open(
      config_, {[this] { boost::asio::post(io_, [this] { OnConnected(); }); },
                [this] { boost::asio::post(io_, [this] { OnDisconnected(); }); }});
  if (!link.ok()) {
    // Bad options (an unreadable credentials file): nothing will connect,
    // so say why, and wait for the supervisor to stop us.
    TP_LOG(kError) << link.status().message();
    problem_ = link.status().message();
    ReportState();
    io_.run();
    return 1;
  }
  link_ = std::move(link.value());
  publisher_ = std::make_unique<BlockingWorker>();
  task_fetcher_ = std::make_unique<TaskFetcher>(
      *link_, subjects_.tasks_stream(), subjects_.function_tasks_filter(),
      [this](std::vector<OwnedMessage> messages) {
        boost::asio::post(io_, [this, batch = std::make_shared<std::vector<OwnedMessage>>(
                                          std::move(messages))]() mutable {
          runner_->OnFetched(std::move(*batch));
        });
      },
      [this](const Status& error) { OnFetchError(error); });
  result_fetcher_ = std::make_unique<ResultFetcher>(
      [this](std::vector<OwnedMessage> messages) { OnResults(std::move(messages)); },
      [this](const Status& error) { OnFetchError(error); });
  runner_ = std::make_unique<RemoteRunner>(io_, config_, *link_, *publisher_, nodes_,
                                           *task_fetcher_, counters_);
  runner_->Start(daemon_);
  Tick();
  KeepAliveTick();
  io_.run();
  return 0;
}

void Agent::OnControl(std::string_view body) {
  v1::ToAgent message;
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    TP_LOG(kError) << "unreadable message from the supervisor";
    return;
  }
  switch (message.kind_case()) {
    case v1::ToAgent::kPublish:
      Publish(message.publish());
      break;
    case v1::ToAgent::kCancel:
      if (link_) (void)link_->PublishCore(subjects_.cancel(), message.cancel().SerializeAsString());
      break;
    case v1::ToAgent::kLoad:
      load_ = message.load();
      if (runner_) runner_->SetLoad(load_);
      break;
    default:
      break;
  }
}

void Agent::OnConnected() {
  TP_LOG(kDebug) << "connected to " << link_->connected_url();
  problem_ = "setting up the streams";
  ScheduleSetUp();
}

void Agent::OnDisconnected() {
  problem_ = "disconnected from NATS; reconnecting";
  ReportState();
}

void Agent::ScheduleSetUp() {
  if (stopping_ || setting_up_.exchange(true)) return;
  publisher_->Post([this] {
    SetUp();
    setting_up_ = false;
  });
}

void Agent::SetUp() {
  Result<bool> created = SetUpStreams();
  Status status = created.ok() ? Status::Ok() : created.status();
  // After a reconnect to a server that kept its state, the consumers and
  // our subscriptions to them are still good; binding again would orphan
  // the pull requests under way (their messages then come back only after
  // the ack wait, counted as deliveries).
  if (status.ok() && (!consumers_bound_ || *created || rebind_.exchange(false))) {
    status = SetUpConsumers();
    consumers_bound_ = status.ok();
  }
  if (status.ok() && !subscribed_) {
    status = SubscribeCore();
    subscribed_ = status.ok();
  }
  boost::asio::post(io_, [this, status] {
    if (status.ok()) {
      ready_ = true;
      problem_.clear();
      SendHeartbeat(false);
    } else {
      problem_ = status.message();
      TP_LOG(kDebug) << "set-up: " << problem_ << "; trying again";
      stop_timer_.expires_after(kSetUpRetry);
      stop_timer_.async_wait([this](const boost::system::error_code& error) {
        if (!error && link_->connected()) ScheduleSetUp();
      });
    }
    ReportState();
  });
}

void Agent::OnFetchError(const Status& error) {
  // No responder for a consumer's pull requests: the server lost it (a
  // restart without its store). Anything else passes by itself.
  if (error.message().find(natsStatus_GetText(NATS_NO_RESPONDERS)) == std::string::npos) return;
  boost::asio::post(io_, [this, error] {
    TP_LOG(kWarning) << error.message() << "; setting the consumers up again";
    ready_ = false;
    rebind_ = true;
    ScheduleSetUp();
  });
}

void Agent::OnResults(std::vector<OwnedMessage> messages) {
  auto batch = std::make_shared<std::vector<OwnedMessage>>(std::move(messages));
  boost::asio::post(io_, [this, batch] {
    for (OwnedMessage& message : *batch) {
      v1::FromAgent forward;
      if (forward.mutable_result()->ParseFromArray(natsMsg_GetData(message.get()),
                                                   natsMsg_GetDataLength(message.get()))) {
        TP_LOG(kDebug) << "result of task " << forward.result().uid() << " from node "
                       << forward.result().node();
        control_->Send(forward);
      }
      // Handed to the supervisor, which answers its client: done.
      natsMsg_Ack(message.get(), nullptr);
    }
  });
}

void Agent::Publish(const v1::PublishTask& publish) {
  const v1::RemoteTask& task = publish.task();
  if (!publisher_ || stopping_) {
    v1::FromAgent message;
    message.mutable_publish_failed()->set_uid(task.uid());
    message.mutable_publish_failed()->set_reason(problem_.empty() ? "stopping" : problem_);
    control_->Send(message);
    return;
  }
  const std::string subject = publish.any_node() ? subjects_.any_tasks()
                                                 : subjects_.function_tasks(task.submit().function());
  const std::string avail = publish.any_node() ? "" : subjects_.avail(task.submit().function());
  publisher_->Post([this, subject, avail, uid = task.uid(), data = task.SerializeAsString()] {
    const Status published =
        link_->PublishRetrying(subject, data, uid, [this] { return publisher_->stopping(); });
    if (published.ok() && !avail.empty()) (void)link_->PublishCore(avail, "");
    boost::asio::post(io_, [this, uid, published] {
      TP_LOG(kDebug) << "published task " << uid << ": " << published.ToString();
      v1::FromAgent message;
      if (published.ok()) {
        message.set_published(uid);
      } else {
        message.mutable_publish_failed()->set_uid(uid);
        message.mutable_publish_failed()->set_reason(published.message());
      }
      control_->Send(message);
    });
  });
}

void Agent::Tick() {
  SendHeartbeat(false);
  ReportState();
  tick_timer_.expires_after(std::chrono::milliseconds(config_.heartbeat_ms()));
  tick_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) Tick();
  });
}

void Agent::KeepAliveTick() {
  if (runner_) runner_->KeepAlive();
  keep_alive_timer_.expires_after(std::chrono::milliseconds(config_.ack_wait_ms() / 3));
  keep_alive_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) KeepAliveTick();
  });
}

void Agent::SendHeartbeat(bool leaving) {
  if (!link_ || !ready_) return;
  v1::NodeHeartbeat heartbeat;
  heartbeat.set_name(config_.node());
  heartbeat.set_incarnation(config_.incarnation());
  heartbeat.set_version(config_.version());
  heartbeat.set_workers(config_.workers());
  heartbeat.set_busy(load_.busy());
  heartbeat.set_queued(load_.queued());
  for (const std::string& function : config_.functions()) heartbeat.add_functions(function);
  heartbeat.set_interval_ms(config_.heartbeat_ms());
  heartbeat.set_leaving(leaving);
  (void)link_->PublishCore(subjects_.nodes(), heartbeat.SerializeAsString());
}

void Agent::ReportState() {
  v1::FromAgent message;
  v1::AgentState& state = *message.mutable_state();
  const bool connected = link_ && ready_ && link_->connected();
  state.set_connected(connected);
  if (link_) state.set_server(link_->connected_url());
  state.set_problem(connected ? "" : problem_);
  *state.mutable_counters() = counters_;
  if (state.SerializeAsString() == sent_state_.SerializeAsString()) return;
  sent_state_ = state;
  control_->Send(message);
}

void Agent::BeginStop() {
  if (stopping_) return;
  stopping_ = true;
  if (!runner_) {
    io_.stop();
    return;
  }
  runner_->Drain();
  stop_timer_.cancel();
  stop_timer_.expires_after(kStopBound);
  stop_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    TP_LOG(kWarning) << "stopping with tasks not yet answered; they are redelivered";
    publisher_->RequestStop();
    SendHeartbeat(true);
    link_->Close(500);
    io_.stop();
  });
  FinishStopWhenIdle();
}

void Agent::FinishStopWhenIdle() {
  if (runner_->Idle() && publisher_->pending() == 0) {
    stop_timer_.cancel();
    SendHeartbeat(true);
    link_->Close(1000);
    io_.stop();
    return;
  }
  idle_timer_.expires_after(std::chrono::milliseconds(20));
  idle_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) FinishStopWhenIdle();
  });
}

}  // namespace taskpool::cluster
