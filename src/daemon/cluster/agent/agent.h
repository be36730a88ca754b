// The cluster agent (taskpoold-cluster): the one process of a node that
// talks to NATS. See daemon/cluster/agent_process.h for why it is a process
// of its own, and proto/taskpool/cluster/v1/ for what it says.
//
// It connects (and reconnects, forever), sets the streams and consumers up,
// announces the node (Q.nodes), publishes what the supervisor hands it,
// fetches what the node may run (RemoteRunner), forwards the results of the
// node's own remote tasks, and reports its state. It stops when the
// supervisor's end of the control channel closes: it stops fetching, lets
// what it holds finish (bounded), says it is leaving, and returns.
//
// Thread-safety: Run() drives everything on the calling thread; libnats'
// and the fetchers' threads only post to it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "daemon/cluster/agent/blocking_worker.h"
#include "daemon/cluster/agent/nats_link.h"
#include "daemon/cluster/agent/remote_runner.h"
#include "daemon/cluster/agent/result_fetcher.h"
#include "daemon/cluster/agent/task_fetcher.h"
#include "daemon/cluster/framed_channel.h"
#include "daemon/cluster/node_table.h"
#include "daemon/cluster/subjects.h"
#include "taskpool/cluster/v1/agent.pb.h"

namespace taskpool::cluster {

class Agent {
 public:
  // `control` and `daemon` are the sockets the supervisor passed (fds 3, 4).
  Agent(v1::AgentConfig config, int control_fd, int daemon_fd);
  ~Agent();

  // Returns the exit code once stopped.
  int Run();

 private:
  void OnControl(std::string_view body);
  void OnConnected();
  void OnDisconnected();
  // On the publisher thread: streams, consumers, subscriptions.
  void SetUp();
  // The three steps of SetUp, in agent_setup.cc. True if a stream had to
  // be created (the server had lost it).
  Result<bool> SetUpStreams();
  Status SetUpConsumers();
  Status SubscribeCore();
  void ScheduleSetUp();
  void OnFetchError(const Status& error);
  void OnResults(std::vector<OwnedMessage> messages);
  void Publish(const v1::PublishTask& publish);
  void Tick();
  void KeepAliveTick();
  void SendHeartbeat(bool leaving);
  void ReportState();
  void BeginStop();
  void FinishStopWhenIdle();

  boost::asio::io_context io_;
  const v1::AgentConfig config_;
  const Subjects subjects_;
  NodeTable nodes_;
  v1::AgentCounters counters_;
  std::shared_ptr<FramedChannel> control_;
  std::shared_ptr<FramedChannel> daemon_;
  std::unique_ptr<NatsLink> link_;
  std::unique_ptr<BlockingWorker> publisher_;
  std::unique_ptr<TaskFetcher> task_fetcher_;
  std::unique_ptr<ResultFetcher> result_fetcher_;
  std::unique_ptr<RemoteRunner> runner_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer keep_alive_timer_;
  boost::asio::steady_timer stop_timer_;
  boost::asio::steady_timer idle_timer_;
  // Written on the publisher thread, read by the loop.
  std::atomic<bool> ready_{false};
  std::atomic<bool> setting_up_{false};
  bool subscribed_ = false;       // publisher thread only
  bool consumers_bound_ = false;  // publisher thread only
  std::atomic<bool> rebind_{false};
  bool stopping_ = false;
  std::string problem_ = "connecting";
  v1::AgentState sent_state_;
  v1::NodeLoad load_;
};

}  // namespace taskpool::cluster
