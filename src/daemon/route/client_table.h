// The router's bookkeeping per client connection, keyed by its id: the
// tasks it has in flight, whether the router paused its reading, and how
// many of its tasks wait for room in the queue.
//
// Lifetime: a connection's ClientState is made on its first submission
// and outlives every task that points to it. Closing the connection only
// marks it closed (client becomes null, so results are dropped); the state
// goes once its last task is forgotten (ForgetTask). Every task, queued,
// running or waiting, is in `tasks` until it is answered, which is what
// keeps that promise. (With --cluster, so is a task handed to another
// node, as nullopt.)
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "daemon/route/task_client.h"
#include "daemon/route/task_queue_port.h"

namespace taskpool::daemon {

// One unanswered task of a connection.
struct TaskEntry {
  // Its queue slot while queued or running; nullopt while it waits (for
  // its gates or for room) or runs on another node.
  std::optional<TaskSlot> slot;
  // What it holds of its connection's --max-connection-memory-mib: its
  // submission, payload and all (in the router, or in the queue).
  uint64_t bytes = 0;
};

struct ClientState {
  // Where results go; null once the connection closed.
  TaskClient* client = nullptr;
  uint64_t id = 0;
  uid_t uid = 0;
  pid_t pid = 0;
  // Its tasks not yet answered, by client-chosen id.
  std::unordered_map<uint64_t, TaskEntry> tasks;
  // The sum of their bytes.
  uint64_t held_bytes = 0;
  // Of those, how many wait for room in the queue (see WaitingRoom).
  uint32_t waiting_for_room = 0;
  // The router paused its reading (see Backpressure).
  bool paused = false;

  bool open() const { return client != nullptr; }
};

class ClientTable {
 public:
  // The state of `client`, made on first use.
  ClientState& Open(TaskClient& client);

  // The state of connection `id`: null if it never submitted, or closed
  // and has nothing left in flight.
  ClientState* Find(uint64_t id);
  const ClientState* Find(uint64_t id) const;

  // Enters task `client_id` of `state`, not yet queued, holding `bytes`.
  // REQUIRES: it is not in state.tasks.
  static void AddTask(ClientState& state, uint64_t client_id, uint64_t bytes);

  // Marks `state` closed: its results are dropped from now on. REQUIRES:
  // the caller forgets the tasks that will never be answered (and calls
  // EraseIfDone).
  static void MarkClosed(ClientState& state);

  // Forgets task `client_id` of `state` and returns where its result goes
  // (null if the connection is closed). `state` may be gone afterwards: it
  // is erased when closed and this was its last task.
  TaskClient* ForgetTask(ClientState& state, uint64_t client_id);

  // Forgets, without a result, every task of `state` that `drop(const
  // TaskEntry&)` picks (it may act on the task first).
  template <typename Drop>
  static void DropTasksIf(ClientState& state, Drop drop) {
    std::erase_if(state.tasks, [&](const auto& entry) {
      if (!drop(entry.second)) return false;
      state.held_bytes -= entry.second.bytes;
      return true;
    });
  }

  // Erases `state` if it is closed with nothing in flight.
  void EraseIfDone(ClientState& state);

  size_t size() const { return clients_.size(); }

  // Calls `visit(const ClientState&)` on every state, in no order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const auto& [id, state] : clients_) visit(state);
  }

 private:
  // Node-based: states keep their address while others come and go.
  std::unordered_map<uint64_t, ClientState> clients_;
};

}  // namespace taskpool::daemon
