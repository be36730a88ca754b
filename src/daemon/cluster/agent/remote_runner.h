// Runs the tasks the agent fetched from the work queue, as a client of its
// own daemon, and sends each one's result home.
//
// For every fetched message: drop it (acked) if its origin no longer waits
// (cancelled, or the origin restarted or is gone); hand it back to the
// queue (republished, this delivery not counted) if this node lacks its
// function or has no free worker any more (a fetch answered after local
// tasks took the worker); answer it without running (attempts used up:
// `lost`; deadline passed: EXPIRED); or submit it to the daemon with what
// is left of its deadline and retries. While it
// runs, the message is kept "in progress" (every AckWait/3), so JetStream
// never redelivers a task whose node is alive; its result is published to
// Q.results.<origin> and only then is the message acked.
//
// Thread-safety: used only from the agent's event loop thread (fetched
// messages are posted to it).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/cluster/agent/blocking_worker.h"
#include "daemon/cluster/agent/nats_link.h"
#include "daemon/cluster/agent/task_fetcher.h"
#include "daemon/cluster/delivery_policy.h"
#include "daemon/cluster/framed_channel.h"
#include "daemon/cluster/node_table.h"
#include "daemon/cluster/subjects.h"
#include "taskpool/cluster/v1/agent.pb.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cluster {

class RemoteRunner {
 public:
  RemoteRunner(boost::asio::io_context& io, const v1::AgentConfig& config, NatsLink& link,
               BlockingWorker& publisher, const NodeTable& nodes, TaskFetcher& fetcher,
               v1::AgentCounters& counters);

  // Starts the client conversation with the daemon on `daemon`.
  void Start(std::shared_ptr<FramedChannel> daemon);

  void OnFetched(std::vector<OwnedMessage> messages);
  void OnCancel(const v1::CancelTask& cancel);
  void SetLoad(const v1::NodeLoad& load);
  // Says "in progress" for every message held.
  void KeepAlive();
  // Stops fetching; Idle() turns true once every held message is answered.
  void Drain();
  bool Idle() const { return held_.empty(); }

 private:
  struct Held {
    OwnedMessage message;
    std::string uid;
    std::string origin;
    uint32_t earlier_deliveries = 0;  // lost before this one
    bool submitted = false;           // to the daemon, result not yet back
  };

  void OnDaemonFrame(std::string_view body);
  void OnLocalResult(taskpool::v1::Result& result);
  void Take(OwnedMessage message);
  // Publishes `result` for the held message `key`, then acks it.
  void SendResult(uint64_t key, const std::string& origin, v1::RemoteResult result);
  void Answer(uint64_t key, ErrorCode code, std::string error, bool lost, uint32_t attempts);
  // Publishes the held task again on `subject` (not counting this
  // delivery as an attempt), then acks this delivery.
  void Requeue(uint64_t key, const std::string& subject);
  void Ack(natsMsg* message);
  void RememberCancelled(const std::string& uid);
  // Tasks this node may take now: idle workers, less tasks on their way
  // to them.
  int Allowance() const;
  void UpdateAllowance();

  boost::asio::io_context& io_;
  const v1::AgentConfig& config_;
  const Subjects subjects_;
  NatsLink& link_;
  BlockingWorker& publisher_;
  const NodeTable& nodes_;
  TaskFetcher& fetcher_;
  v1::AgentCounters& counters_;
  std::shared_ptr<FramedChannel> daemon_;
  bool greeted_ = false;
  bool draining_ = false;
  uint64_t next_key_ = 1;  // also the task id on the daemon connection
  std::unordered_map<uint64_t, Held> held_;
  std::unordered_map<std::string, uint64_t> by_uid_;
  // Recently cancelled uids, oldest first, bounded.
  std::deque<std::string> cancelled_order_;
  std::unordered_set<std::string> cancelled_;
  uint32_t submitted_ = 0;  // tasks sent to the daemon, result not yet back
  v1::NodeLoad load_;
};

}  // namespace taskpool::cluster
