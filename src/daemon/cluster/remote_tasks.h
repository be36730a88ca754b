// The origin's side of remote tasks: every task of this daemon's clients
// that went to the work queue, until its one result is delivered.
//
// Exactly one result per task: results are matched by uid, and one for a
// task already answered (a redelivered task that ran twice, or one that
// came back after the origin gave up on it) is dropped and counted. The
// origin keeps its own clock on deadlines: at a task's deadline it answers
// TIMEOUT (started somewhere) or EXPIRED (not started) and tells the node
// running it to kill it, whatever that node's clock says.
//
// A published task is kept in full until the agent says JetStream stored
// it, so a restarted agent can publish it again (under the same
// Nats-Msg-Id, which JetStream deduplicates).
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/clock.h"
#include "daemon/cluster/node_table.h"
#include "daemon/config/daemon_config.h"
#include "daemon/route/remote_execution.h"
#include "taskpool/cluster/v1/agent.pb.h"

namespace taskpool::daemon {
class TaskRouter;
}  // namespace taskpool::daemon

namespace taskpool::cluster {

// What RemoteTasks needs of the rest of the cluster module.
class AgentLink {
 public:
  virtual ~AgentLink() = default;
  // Sends to the agent, if one runs; dropped otherwise (see
  // RemoteTasks::ResendUnconfirmed).
  virtual void SendToAgent(const v1::ToAgent& message) = 0;
  // Connected to NATS with the streams in place.
  virtual bool queue_reachable() const = 0;
  virtual const NodeTable& nodes() const = 0;
  // Whether connection `client_id` is the agent's own, whose tasks came
  // from the queue.
  virtual bool IsAgentConnection(uint64_t client_id) const = 0;
};

struct RemoteCounters {
  uint64_t published = 0;
  uint64_t remote_results = 0;
  uint64_t duplicates_dropped = 0;
};

class RemoteTasks : public daemon::RemoteExecution {
 public:
  RemoteTasks(boost::asio::io_context& io, const daemon::DaemonConfig& config,
              uint64_t incarnation, daemon::TaskRouter& router, AgentLink& link);

  // daemon::RemoteExecution
  bool CanPublish(const daemon::TaskClient& client, const taskpool::v1::Submit& submit,
                  bool known_here) const override;
  bool FromTheQueue(const daemon::TaskClient& client) const override {
    return link_.IsAgentConnection(client.id());
  }
  void Publish(daemon::RemoteSubmission task) override;
  bool Cancel(const daemon::TaskClient& client, const taskpool::v1::Cancel& cancel) override;
  std::vector<daemon::RemoteDrop> ConnectionClosed(const daemon::TaskClient& client) override;
  void CancelAll(const std::string& reason) override;
  size_t in_flight() const override { return tasks_.size(); }

  // From the agent.
  void OnPublished(const std::string& uid);
  void OnPublishFailed(const v1::PublishFailed& failed);
  void OnStarted(const v1::TaskStarted& started);
  void OnResult(v1::RemoteResult&& result);

  // Publishes again every task JetStream has not confirmed (a new agent).
  void ResendUnconfirmed();

  // This node has been cut off from the cluster so long that the other
  // nodes drop its tasks (NodeTable::GoneAfter): ends every remote task
  // with WORKER_DIED naming `why`.
  void AbandonAll(const std::string& why);

  const RemoteCounters& counters() const { return counters_; }

 private:
  struct Task {
    uint64_t connection_id = 0;  // its TaskClient::id()
    uint64_t client_id = 0;
    uint32_t function_index = 0;
    uint32_t tasks = 1;
    bool chunk = false;
    std::string function;
    uint32_t max_retries = 0;
    base::SteadyTime accepted{};
    std::optional<base::SteadyTime> deadline;
    daemon::ConcurrencyGates::Pass pass;
    // Until JetStream stored it: what to publish again.
    std::optional<v1::PublishTask> unconfirmed;
    std::string started_on;  // the node running it, once it said so
  };

  // Removes the task and delivers `result` (whose id is set here) for it.
  void Finish(const std::string& uid, taskpool::v1::Result result);
  // Tells every node to stop `uid`.
  void BroadcastCancel(const std::string& uid, bool kill);
  std::optional<std::string> FindUid(uint64_t connection_id, uint64_t id) const;
  void ArmDeadlineTimer();
  void CheckDeadlines();

  const daemon::DaemonConfig& config_;
  const uint64_t incarnation_;
  daemon::TaskRouter& router_;
  AgentLink& link_;
  boost::asio::steady_timer deadline_timer_;
  uint64_t next_sequence_ = 1;
  std::unordered_map<std::string, Task> tasks_;  // by uid
  // connection id -> client id -> uid, for Cancel and ConnectionClosed.
  std::unordered_map<uint64_t, std::unordered_map<uint64_t, std::string>> by_client_;
  std::multimap<base::SteadyTime, std::string> deadlines_;  // deadline -> uid (may be stale)
  RemoteCounters counters_;
};

}  // namespace taskpool::cluster
