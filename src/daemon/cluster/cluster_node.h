// This daemon as a node of a cluster (taskpoold --cluster): starts and
// restarts the cluster agent, talks to it over the control channel, keeps
// the table of nodes, tells the agent how many tasks it may fetch, and
// owns the origin's RemoteTasks, which the router publishes through.
//
// Without --cluster no ClusterNode exists.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "daemon/cluster/framed_channel.h"
#include "daemon/cluster/node_table.h"
#include "daemon/cluster/remote_tasks.h"
#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {
class TaskRegistry;
}  // namespace taskpool::daemon

namespace taskpool::cluster {

// What the supervisor knows of its own load, for the agent's fetching and
// the node's heartbeat.
struct LocalLoad {
  uint32_t free_workers = 0;  // idle workers, less tasks queued here
  uint32_t busy = 0;
  uint32_t queued = 0;
  bool draining = false;
};

class ClusterNode : private AgentLink {
 public:
  // The cluster agent's process (-1 while none runs): a child of the
  // supervisor that is not a worker, and must not be taken for a stray.
  pid_t agent_pid() const { return agent_pid_; }
  // Serves the daemon's end of the agent's client connection
  // (Server::Adopt) and returns its connection id.
  using AdoptConnection = std::function<uint64_t(boost::asio::local::stream_protocol::socket)>;

  ClusterNode(boost::asio::io_context& io, const daemon::DaemonConfig& config,
              const daemon::TaskRegistry& registry, daemon::TaskRouter& router,
              AdoptConnection adopt);
  ~ClusterNode() override;

  // Starts the agent. The daemon serves its clients whether or not NATS is
  // reachable; a failure here is one to start the agent binary at all.
  Status Start();

  // Call whenever the load may have changed; tells the agent if it did.
  void ReportLoad(const LocalLoad& load);

  void FillStatus(taskpool::v1::ClusterStatus* status) const;

  // Stops the agent: it publishes what it still holds and exits.
  void Stop();

  daemon::RemoteExecution& remote() { return *remote_tasks_; }

 private:
  // AgentLink
  void SendToAgent(const v1::ToAgent& message) override;
  bool queue_reachable() const override { return state_.connected(); }
  const NodeTable& nodes() const override { return nodes_; }
  bool IsAgentConnection(uint64_t client_id) const override;

  Status StartAgent();
  void OnAgentMessage(std::string_view body);
  void OnAgentGone(const std::string& why);
  void OnState(const v1::AgentState& state);
  // Starts or stops the clock on how long the queue has been unreachable.
  void WatchReachability();
  void SendLoad();

  boost::asio::io_context& io_;
  const daemon::DaemonConfig& config_;
  const daemon::TaskRegistry& registry_;
  const daemon::TaskRouter& router_;
  AdoptConnection adopt_;
  const uint64_t incarnation_;
  NodeTable nodes_;
  std::unique_ptr<RemoteTasks> remote_tasks_;
  std::shared_ptr<FramedChannel> agent_;
  std::optional<uint64_t> agent_connection_;  // the current agent's, by id
  pid_t agent_pid_ = -1;
  boost::asio::steady_timer restart_timer_;
  boost::asio::steady_timer unreachable_timer_;
  bool unreachable_watched_ = false;
  bool stopping_ = false;
  v1::AgentState state_;
  LocalLoad load_;
  std::optional<v1::NodeLoad> sent_load_;
};

}  // namespace taskpool::cluster
