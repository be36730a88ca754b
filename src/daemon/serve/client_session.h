// One client connection: reads delimited ClientMessage frames, answers the
// hello, hands submissions to the TaskRouter and writes ServerMessage
// frames back. Writes are batched: frames queued while a write is in
// progress, or during a WriteRound, go out together in the next one.
//
// Lifetime: owned by shared_ptr; the pending async operations keep it
// alive. Close() cancels them, after which the owner drops it.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

#include "base/clock.h"
#include "daemon/route/task_client.h"
#include "daemon/serve/peer_deadlines.h"
#include "taskpool/v1/taskpool.pb.h"
#include "wire/framing.h"

namespace taskpool::daemon {

class ClientSession;

// What a connection needs from the rest of the daemon.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  virtual void OnHello(ClientSession& connection, const v1::Hello& hello,
                       v1::HelloReply* reply) = 0;
  virtual void OnSubmit(ClientSession& connection, const v1::Submit& submit) = 0;
  virtual void OnCancel(ClientSession& connection, const v1::Cancel& cancel) = 0;
  virtual void FillStatus(v1::StatusReply* status) = 0;
  // Whether the connection has tasks not yet answered (it is then not
  // idle, however long it stays quiet).
  virtual bool HasTasksInFlight(const ClientSession& connection) const = 0;
  // Called once when the connection closes, for any reason.
  virtual void OnClosed(ClientSession& connection) = 0;
};

// The router sees it as a TaskClient; what it keeps per connection it keeps
// itself (route/client_table.h).
class ClientSession final : public std::enable_shared_from_this<ClientSession>,
                            public TaskClient {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  // While one lives, no session starts a write: frames queue, and when the
  // outermost round ends every session that queued some writes them all
  // at once. The supervisor opens one around each collection of results,
  // and each read's worth of frames is handled in one, so a round of
  // results for one connection leaves in one write instead of one for its
  // first result and another for the rest. Event-loop thread only; rounds
  // may nest.
  class WriteRound {
   public:
    WriteRound();
    ~WriteRound();
    WriteRound(const WriteRound&) = delete;
    WriteRound& operator=(const WriteRound&) = delete;
  };

  // How long a peer may keep the daemon waiting; 0 turns one off.
  struct Timeouts {
    // Sends no whole frame and has no task in flight for this long.
    std::chrono::milliseconds idle{0};
    // No hello this long after the accept.
    std::chrono::milliseconds hello{0};
    // A begun frame not whole this long after its first byte.
    std::chrono::milliseconds frame{0};
  };

  ClientSession(Socket socket, ConnectionHost& host, uint64_t connection_id,
                uint64_t max_frame_bytes, Timeouts timeouts);

  // Starts reading. REQUIRES: called once.
  void Start();

  // Queues a message for the client.
  void Send(const v1::ServerMessage& message);
  // Sends `result` with `output` as its output, copied once, straight into
  // the outgoing buffer. REQUIRES: result.output() is empty.
  void SendResult(const v1::Result& result, std::string_view output) override;

  // Sends `error`, then closes once it is written.
  void SendErrorAndClose(ErrorCode code, const std::string& message);

  // Stops reading new frames until ResumeReading() (backpressure: the
  // client then blocks in its socket). Frames already received are kept.
  void PauseReading() override;
  void ResumeReading() override;

  // Closes once everything queued is written; reads nothing more.
  void CloseAfterFlush();
  // Closes now, dropping unsent data.
  void Close();
  bool closed() const { return closed_; }

  uint64_t id() const override { return id_; }
  // Peer credentials from SO_PEERCRED (for logs and status).
  pid_t peer_pid() const override { return peer_pid_; }
  uid_t peer_uid() const override { return peer_uid_; }
  gid_t peer_gid() const { return peer_gid_; }

 private:
  enum class Phase { kAwaitingHello, kReady, kClosing };

  void ReadSome();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  // Handles every whole frame in the buffer; false if the connection must
  // stop (an error was sent).
  bool ProcessFrames();
  void HandleMessage(const v1::ClientMessage& message);
  void HandleHello(const v1::ClientMessage& message);
  // Submits batch.tasks(next...) until reading is paused; what is left is
  // held in held_batch_ for ProcessFrames to go on with.
  void SubmitBatchFrom(const v1::SubmitBatch& batch, int next);
  void WriteSome();
  void OnWritten(const boost::system::error_code& error);
  void ReadPeerCredentials();
  void WatchIdleness();
  // (Re)arms the peer-deadline timer if a deadline is due earlier than
  // the one it waits for; the timer looks again when it fires.
  void ArmPeerDeadlines();

  Socket socket_;
  ConnectionHost& host_;
  const uint64_t id_;
  wire::FrameDecoder decoder_;
  Phase phase_ = Phase::kAwaitingHello;
  bool reading_ = false;   // an async read is outstanding
  bool paused_ = false;
  bool writing_ = false;   // an async write is outstanding
  bool write_held_ = false;  // frames wait for the end of a WriteRound
  bool closed_ = false;
  bool close_after_flush_ = false;
  // The part of a SubmitBatch not yet admitted when reading was paused.
  std::unique_ptr<v1::SubmitBatch> held_batch_;
  int held_batch_next_ = 0;
  std::string outgoing_;   // frames waiting for the current write to finish
  std::string writing_buffer_;  // frames being written now
  const std::chrono::milliseconds idle_timeout_;
  boost::asio::steady_timer idle_timer_;
  base::SteadyTime last_heard_;  // when the last whole frame arrived
  PeerDeadlines peer_deadlines_;
  boost::asio::steady_timer deadline_timer_;
  std::optional<base::SteadyTime> deadline_armed_for_;
  pid_t peer_pid_ = 0;
  // Until SO_PEERCRED says otherwise: nobody, so a failed read is refused.
  uid_t peer_uid_ = static_cast<uid_t>(-1);
  gid_t peer_gid_ = static_cast<gid_t>(-1);
};

}  // namespace taskpool::daemon
