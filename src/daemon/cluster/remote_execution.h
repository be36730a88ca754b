// The one seam between the task router and the cluster (taskpoold
// --cluster; DESIGN.md, "Beyond one machine").
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
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "daemon/route/concurrency_gates.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class ClientSession;

// A task the router hands over, with what it needs when the result comes.
struct RemoteSubmission {
  std::shared_ptr<ClientSession> connection;
  v1::Submit submit;
  uint32_t function_index = 0;  // a registry index or FunctionStats::kUnknownFunction
  uint32_t tasks = 1;           // what it counts as (a chunk: its items)
  int64_t accepted_ns = 0;      // CLOCK_MONOTONIC, when the router read it
  ConcurrencyGates::Pass pass;  // released when its result is delivered
};

class RemoteExecution {
 public:
  virtual ~RemoteExecution() = default;

  // Whether `submit`, from `connection`, may leave this node now: the
  // cluster is reachable, another live node has its function, there is
  // room for more remote tasks, and it did not come from the queue (the
  // cluster agent's own connection). `known_here`: this node could run it
  // itself. Tasks with a lock key or a --limit'd function never leave (the
  // router does not ask).
  virtual bool CanPublish(const ClientSession& connection, const v1::Submit& submit,
                          bool known_here) const = 0;

  // Takes the task. Its result comes back through the router's
  // DeliverRemoteResult, or, if the queue refuses it, the task goes back
  // to the router's RunHere.
  virtual void Publish(RemoteSubmission task) = 0;

  // If `cancel` names a task of `connection` that was handed over: cancels
  // it (see the .proto's Cancel) and returns true.
  virtual bool Cancel(ClientSession& connection, const v1::Cancel& cancel) = 0;

  // Forgets the tasks of a closed connection (their nodes are told to stop).
  virtual void ConnectionClosed(ClientSession& connection) = 0;

  // Ends every handed-over task with CANCELLED naming `reason` (forced
  // shutdown).
  virtual void CancelAll(const std::string& reason) = 0;

  // Tasks handed over and not yet answered.
  virtual size_t in_flight() const = 0;

  // --node-name, for the results of tasks that ran here.
  virtual const std::string& node_name() const = 0;
};

}  // namespace taskpool::daemon
