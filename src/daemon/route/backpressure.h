// Per-connection backpressure: the router stops reading a connection that
// has --max-in-flight-per-connection tasks unanswered, or whose task waits
// for room in a full queue, or that holds --max-connection-memory-mib of
// the daemon's memory (its tasks' submissions here and in the queue, its
// unparsed input and its replies not yet written), so the client blocks in
// its socket instead of the daemon's memory growing. Reading resumes once
// the connection is below both limits with nothing waiting for room: when
// its tasks end, or when its replies drain (the host then calls Recheck).
//
// The budget bounds what reading more would add to. Results of tasks
// already accepted still arrive while it is paused, so a reply larger than
// its submission can take a connection past the budget by the difference.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "daemon/route/client_table.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class Backpressure {
 public:
  // The limits are read at each use (a reload may change them); they must
  // outlive this.
  Backpressure(const uint32_t& max_in_flight_per_connection,
               const uint64_t& max_connection_memory_bytes)
      : max_in_flight_(max_in_flight_per_connection),
        max_memory_bytes_(max_connection_memory_bytes) {}

  // What a task holds of its connection's budget while it is unanswered:
  // its submission (payload, function name, lock key) and the router's
  // records of it.
  static uint64_t BytesOf(const v1::Submit& submit);

  // Everything the daemon holds for `client` now (REQUIRES: open).
  static uint64_t HeldBytes(const ClientState& client) {
    return client.held_bytes + client.client->buffered_bytes();
  }

  // Pauses `client` if it has reached its in-flight limit or its budget.
  void PauseIfOverLimit(ClientState& client);
  // Pauses `client`: one of its tasks waits for room in the queue.
  void PauseForRoom(ClientState& client);
  // What the connection holds changed without a task starting or ending
  // (it queued replies of its own, or wrote some): pauses or resumes it.
  void Recheck(ClientState& client);

  // Resumes every paused connection that is below its limits and has no
  // task waiting for room; forgets the closed ones.
  void ResumeReady(ClientTable& clients);

 private:
  bool OverLimit(const ClientState& client) const;
  bool Ready(const ClientState& client) const {
    return client.waiting_for_room == 0 && !OverLimit(client);
  }
  void Pause(ClientState& client);
  // Reading again; the caller takes it out of paused_.
  static void Resume(ClientState& client);

  const uint32_t& max_in_flight_;
  const uint64_t& max_memory_bytes_;
  // Ids, not pointers: a closed connection's state may go at any time.
  std::vector<uint64_t> paused_;
};

}  // namespace taskpool::daemon
