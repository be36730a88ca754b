// The router's seam to other nodes (taskpoold --cluster; DESIGN.md,
// "Beyond one machine"). Without --cluster the router has none.
//
// The router keeps deciding everything about a task on its origin node
// (admission, gates, fair share); only a task that passed them and that
// this node cannot start now is handed over here, to be published to the
// shared work queue. Its one result comes back through
// TaskRouter::DeliverRemoteResult. The other direction, tasks fetched from
// the queue, needs no seam: the cluster agent submits them through an
// ordinary client connection, so they meet the same limits, timeouts and
// cancellation as any client's.
//
// The daemon's implementation is cluster::RemoteTasks
// (src/daemon/cluster/remote_tasks.h); the router's tests use a fake.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/route/concurrency_gates.h"
#include "daemon/route/task_client.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

// A task the router hands over, with what it needs when the result comes.
struct RemoteSubmission {
  uint64_t client = 0;          // the connection's TaskClient::id()
  v1::Submit submit;            // with the client's id for it
  uint32_t function_index = 0;  // a registry index or FunctionStats::kUnknownFunction
  uint32_t tasks = 1;           // what it counts as (a chunk: its items)
  std::chrono::steady_clock::time_point accepted{};  // when the router read it
  ConcurrencyGates::Pass pass;  // released when its result is delivered
};

// A handed-over task forgotten with its connection.
struct RemoteDrop {
  uint32_t function_index = 0;
  uint32_t tasks = 1;
};

class RemoteExecution {
 public:
  virtual ~RemoteExecution() = default;

  // Whether `submit`, from `client`, may leave this node now: the cluster
  // is reachable, another live node has its function, there is room for
  // more remote tasks, and it did not come from the queue (the cluster
  // agent's own connection). `known_here`: this node could run it itself.
  // Tasks with a lock key or a --limit'd function never leave (the router
  // does not ask).
  virtual bool CanPublish(const TaskClient& client, const v1::Submit& submit,
                          bool known_here) const = 0;

  // Whether `client` is the cluster agent's own connection, which brings
  // tasks fetched from the queue to run here.
  virtual bool FromTheQueue(const TaskClient& client) const = 0;

  // Takes the task. Its result comes back through the router's
  // DeliverRemoteResult, or, if the queue refuses it, the task goes back
  // to the router's RunHere.
  virtual void Publish(RemoteSubmission task) = 0;

  // If `cancel` names a task of `client` that was handed over: cancels it
  // (see the .proto's Cancel) and returns true.
  virtual bool Cancel(const TaskClient& client, const v1::Cancel& cancel) = 0;

  // Forgets the tasks of a closed connection (their nodes are told to
  // stop); no result comes for them. Returns what they were, for the
  // counts.
  virtual std::vector<RemoteDrop> ConnectionClosed(const TaskClient& client) = 0;

  // Ends every handed-over task with CANCELLED naming `reason` (forced
  // shutdown).
  virtual void CancelAll(const std::string& reason) = 0;

  // Tasks handed over and not yet answered.
  virtual size_t in_flight() const = 0;
};

}  // namespace taskpool::daemon
