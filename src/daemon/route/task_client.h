// What the router sees of a client connection: who it is, where its
// results go, and the tap on its reading (backpressure).
//
// The daemon's connections are serve/ClientSession; the router's tests
// use fakes. The router keeps its own bookkeeping per connection
// (client_table.h), keyed by id(); it holds a TaskClient& only from the
// connection's first submission until TaskRouter::ConnectionClosed.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string_view>

namespace taskpool::v1 {
class Result;
}  // namespace taskpool::v1

namespace taskpool::daemon {

class PayloadArena;  // payload_arena.h

class TaskClient {
 public:
  // Unique among the daemon's connections, never reused.
  virtual uint64_t id() const = 0;
  // The peer's credentials (SO_PEERCRED), for fair share, logs and status.
  virtual uid_t peer_uid() const = 0;
  virtual pid_t peer_pid() const = 0;

  // Sends `result` with `output` as its output (copied once, into the
  // outgoing frame). REQUIRES: result.output() is empty.
  virtual void SendResult(const v1::Result& result, std::string_view output) = 0;

  // Stops reading new frames until ResumeReading(); must not call back
  // into the router from inside either call.
  virtual void PauseReading() = 0;
  virtual void ResumeReading() = 0;

  // Bytes the connection holds itself: input not yet handled (unparsed
  // frames, the rest of a batch) and replies not yet written. With what
  // the router holds for its tasks, this is what --max-connection-memory-mib
  // bounds (see Backpressure).
  virtual uint64_t buffered_bytes() const = 0;

  // The payload arena the client sent with its hello (payload_arena.h), if
  // any: where the inputs of its Submits with payload_in_arena lie.
  virtual std::shared_ptr<const PayloadArena> payload_arena() const { return nullptr; }

 protected:
  ~TaskClient() = default;  // not owned through this interface
};

}  // namespace taskpool::daemon
