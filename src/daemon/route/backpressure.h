// Per-connection backpressure: the router stops reading a connection that
// has --max-in-flight-per-connection tasks unanswered, or whose task waits
// for room in a full queue, so the client blocks in its socket instead of
// the daemon's memory growing. Reading resumes once the connection is
// below its limit with nothing waiting for room.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "daemon/route/client_table.h"

namespace taskpool::daemon {

class Backpressure {
 public:
  // The limit is read at each use (a reload may change it); it must
  // outlive this.
  explicit Backpressure(const uint32_t& max_in_flight_per_connection)
      : max_in_flight_(max_in_flight_per_connection) {}

  // Pauses `client` if it has reached its in-flight limit.
  void PauseIfOverLimit(ClientState& client);
  // Pauses `client`: one of its tasks waits for room in the queue.
  void PauseForRoom(ClientState& client);

  // Resumes every paused connection that is below its limit and has no
  // task waiting for room; forgets the closed ones.
  void ResumeReady(ClientTable& clients);

 private:
  void Pause(ClientState& client);

  const uint32_t& max_in_flight_;
  // Ids, not pointers: a closed connection's state may go at any time.
  std::vector<uint64_t> paused_;
};

}  // namespace taskpool::daemon
