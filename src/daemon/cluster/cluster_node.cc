#include "daemon/cluster/cluster_node.h"

#include <signal.h>
#include <unistd.h>

#include <random>

#include "base/log.h"
#include "daemon/cluster/agent_process.h"
#include "daemon/route/task_router.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::cluster {

namespace {

// Control messages are small but results carry outputs.
constexpr size_t kControlFrameSlack = 1 << 20;
// After the agent died: wait this long before starting another, so a
// broken installation does not spin.
constexpr std::chrono::seconds kAgentRestartDelay{1};
// At shutdown: how long the agent may take to publish its last results.
constexpr std::chrono::seconds kAgentStopTimeout{5};

uint64_t DrawIncarnation() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

}  // namespace

ClusterNode::ClusterNode(boost::asio::io_context& io, const daemon::DaemonConfig& config,
                         const daemon::TaskRegistry& registry, daemon::TaskRouter& router,
                         AdoptConnection adopt)
    : io_(io),
      config_(config),
      registry_(registry),
      router_(router),
      adopt_(std::move(adopt)),
      incarnation_(DrawIncarnation()),
      nodes_(config.cluster.node_name, incarnation_,
             static_cast<uint32_t>(config.cluster.heartbeat.count()), base::SteadyClock::now()),
      remote_tasks_(std::make_unique<RemoteTasks>(io, config, incarnation_, router,
                                                 static_cast<AgentLink&>(*this))),
      restart_timer_(io),
      unreachable_timer_(io) {
  state_.set_problem("connecting");
}

ClusterNode::~ClusterNode() {
  if (agent_) agent_->Close();
}

Status ClusterNode::Start() {
  TP_LOG(kInfo) << "cluster: node " << config_.cluster.node_name << " joining queue '"
                << config_.cluster.queue << "' on " << config_.cluster.servers.front()
                << (config_.cluster.servers.size() > 1 ? " (and others)" : "");
  return StartAgent();
}

Status ClusterNode::StartAgent() {
  const std::string binary = AgentBinaryPath();
  Result<SpawnedAgent> spawned = SpawnAgent(binary);
  if (!spawned.ok()) return spawned.status();
  agent_pid_ = spawned->pid;
  using Socket = boost::asio::local::stream_protocol::socket;
  agent_ = std::make_shared<FramedChannel>(
      Socket(io_, boost::asio::local::stream_protocol(), spawned->sockets.control.release()),
      config_.max_frame_bytes() + kControlFrameSlack);
  agent_connection_ =
      adopt_(Socket(io_, boost::asio::local::stream_protocol(), spawned->sockets.daemon.release()));
  agent_->Start([this](std::string_view body) { OnAgentMessage(body); },
                [this](const std::string& why) { OnAgentGone(why); });
  v1::ToAgent message;
  v1::AgentConfig& agent_config = *message.mutable_config();
  for (const std::string& server : config_.cluster.servers) agent_config.add_servers(server);
  agent_config.set_node(config_.cluster.node_name);
  agent_config.set_incarnation(incarnation_);
  agent_config.set_queue(config_.cluster.queue);
  agent_config.set_creds_file(config_.cluster.creds_file);
  agent_config.set_tls_ca_file(config_.cluster.tls_ca_file);
  agent_config.set_ack_wait_ms(static_cast<uint32_t>(config_.cluster.ack_wait.count()));
  agent_config.set_heartbeat_ms(static_cast<uint32_t>(config_.cluster.heartbeat.count()));
  agent_config.set_replicas(config_.cluster.replicas);
  // What Find() accepts: exec only when enabled (a refused name is not listed).
  for (const std::string& name : registry_.names()) agent_config.add_functions(name);
  agent_config.set_workers(config_.workers);
  agent_config.set_version(TASKPOOL_VERSION);
  agent_config.set_log_level(static_cast<int32_t>(base::GetLogLevel()));
  agent_->Send(message);
  sent_load_.reset();
  SendLoad();
  remote_tasks_->ResendUnconfirmed();
  TP_LOG(kDebug) << "cluster: agent started (pid " << agent_pid_ << ")";
  return Status::Ok();
}

void ClusterNode::OnAgentGone(const std::string& why) {
  agent_.reset();
  agent_connection_.reset();
  state_.set_connected(false);
  state_.set_problem("the cluster agent exited");
  WatchReachability();
  if (stopping_) {
    restart_timer_.cancel();
    return;
  }
  TP_LOG(kError) << "cluster: the agent (pid " << agent_pid_ << ") went away ("
                 << (why.empty() ? "closed" : why) << "); starting a new one in "
                 << kAgentRestartDelay.count()
                 << " s. Tasks it was running are redelivered to other nodes after "
                    "--cluster-ack-wait-ms";
  if (agent_pid_ > 0) kill(agent_pid_, SIGKILL);  // if only its socket broke
  agent_pid_ = -1;
  restart_timer_.expires_after(kAgentRestartDelay);
  restart_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopping_) return;
    if (Status started = StartAgent(); !started.ok()) {
      TP_LOG(kError) << "cluster: " << started.message();
      OnAgentGone("could not start");
    }
  });
}

void ClusterNode::OnAgentMessage(std::string_view body) {
  v1::FromAgent message;
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    TP_LOG(kError) << "cluster: unreadable message from the agent; restarting it";
    if (agent_) agent_->Close();
    OnAgentGone("unreadable message");
    return;
  }
  switch (message.kind_case()) {
    case v1::FromAgent::kState:
      OnState(message.state());
      break;
    case v1::FromAgent::kPublished:
      remote_tasks_->OnPublished(message.published());
      break;
    case v1::FromAgent::kPublishFailed:
      remote_tasks_->OnPublishFailed(message.publish_failed());
      break;
    case v1::FromAgent::kStarted:
      remote_tasks_->OnStarted(message.started());
      break;
    case v1::FromAgent::kResult:
      remote_tasks_->OnResult(std::move(*message.mutable_result()));
      break;
    case v1::FromAgent::kHeartbeat:
      nodes_.Update(message.heartbeat(), base::SteadyClock::now());
      break;
    case v1::FromAgent::KIND_NOT_SET:
      break;
  }
}

void ClusterNode::OnState(const v1::AgentState& state) {
  if (state.connected() != state_.connected() || state.problem() != state_.problem()) {
    if (state.connected()) {
      TP_LOG(kInfo) << "cluster: connected to " << state.server() << "; queue '"
                    << config_.cluster.queue << "' ready";
    } else {
      TP_LOG(kWarning) << "cluster: not connected to NATS (" << state.problem()
                       << "); running tasks here only until it is back";
    }
  }
  state_ = state;
  WatchReachability();
}

void ClusterNode::WatchReachability() {
  if (state_.connected() || stopping_) {
    if (unreachable_watched_) unreachable_timer_.cancel();
    unreachable_watched_ = false;
    return;
  }
  if (unreachable_watched_) return;
  unreachable_watched_ = true;
  const std::chrono::milliseconds bound =
      NodeTable::GoneAfter(static_cast<uint32_t>(config_.cluster.heartbeat.count()));
  unreachable_timer_.expires_after(bound);
  unreachable_timer_.async_wait([this, bound](const boost::system::error_code& error) {
    if (error || !unreachable_watched_) return;
    unreachable_watched_ = false;
    remote_tasks_->AbandonAll("this node lost the cluster (" + state_.problem() + ") for " +
                              std::to_string(bound.count()) +
                              " ms, after which the other nodes drop its tasks; the task "
                              "may or may not have run");
    WatchReachability();
  });
}

void ClusterNode::SendToAgent(const v1::ToAgent& message) {
  if (agent_ && !agent_->closed()) agent_->Send(message);
}

bool ClusterNode::IsAgentConnection(uint64_t client_id) const {
  return agent_connection_ == client_id;
}

void ClusterNode::ReportLoad(const LocalLoad& load) {
  load_ = load;
  SendLoad();
}

void ClusterNode::SendLoad() {
  if (stopping_) return;  // the agent is told to finish, not to fetch
  v1::NodeLoad load;
  load.set_free_workers(load_.free_workers);
  if (agent_connection_) {
    load.set_agent_in_router(static_cast<uint32_t>(router_.TasksInFlight(*agent_connection_)));
  }
  load.set_busy(load_.busy);
  load.set_queued(load_.queued);
  load.set_draining(load_.draining);
  if (sent_load_ && sent_load_->SerializeAsString() == load.SerializeAsString()) return;
  sent_load_ = load;
  v1::ToAgent message;
  *message.mutable_load() = load;
  SendToAgent(message);
}

void ClusterNode::FillStatus(taskpool::v1::ClusterStatus* status) const {
  status->set_node(config_.cluster.node_name);
  status->set_queue(config_.cluster.queue);
  status->set_connected(state_.connected());
  status->set_server(state_.server());
  status->set_problem(state_.connected() ? "" : state_.problem());
  nodes_.Fill(status->mutable_nodes(), base::SteadyClock::now());
  const RemoteCounters& counters = remote_tasks_->counters();
  status->set_published(counters.published);
  status->set_remote_results(counters.remote_results);
  status->set_remote_in_flight(static_cast<uint32_t>(remote_tasks_->in_flight()));
  status->set_duplicates_dropped(counters.duplicates_dropped);
  const v1::AgentCounters& agent = state_.counters();
  status->set_fetched(agent.fetched());
  status->set_redelivered(agent.redelivered());
  status->set_dropped(agent.dropped());
  status->set_lost(agent.lost());
}

void ClusterNode::Stop() {
  stopping_ = true;
  restart_timer_.cancel();
  if (!agent_) return;
  // End of file tells the agent to publish what it holds and exit; its own
  // end of file tells us it did. It gets a bound, then dies with us.
  agent_->FinishSending();
  restart_timer_.expires_after(kAgentStopTimeout);
  restart_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || !agent_) return;
    TP_LOG(kWarning) << "cluster: the agent did not finish within " << kAgentStopTimeout.count()
                     << " s; leaving without it";
    agent_->Close();
  });
}

}  // namespace taskpool::cluster
