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
#include <google/protobuf/arena.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "base/clock.h"
#include "base/unique_fd.h"
#include "daemon/route/payload_arena.h"
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
  // What the connection holds changed without a task starting or ending:
  // it queued replies of its own (pongs, status) or wrote some out. The
  // host pauses or resumes its reading (--max-connection-memory-mib).
  virtual void OnBuffersChanged(ClientSession& connection) = 0;
  // Bytes the host holds for the connection's tasks, for status.
  virtual uint64_t TaskBytes(const ClientSession& connection) const = 0;
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
  bool reading_paused() const { return paused_; }

  // Input not yet handled (frames buffered, a batch not all admitted) and
  // replies not yet written.
  uint64_t buffered_bytes() const override;
  // The most buffered_bytes() has been (when a read or a reply grew it).
  uint64_t peak_buffered_bytes() const { return peak_buffered_bytes_; }

  // Closes once everything queued is written; reads nothing more.
  void CloseAfterFlush();
  // Closes now, dropping unsent data.
  void Close();
  bool closed() const { return closed_; }

  std::shared_ptr<const PayloadArena> payload_arena() const override { return arena_; }

  uint64_t id() const override { return id_; }
  // Peer credentials from SO_PEERCRED (for logs and status).
  pid_t peer_pid() const override { return peer_pid_; }
  uid_t peer_uid() const override { return peer_uid_; }
  gid_t peer_gid() const { return peer_gid_; }

 private:
  enum class Phase { kAwaitingHello, kReady, kClosing };

  void ReadSome();
  // Before the hello is handled: reads with recvmsg, keeping a descriptor
  // that comes with the bytes (the client's payload arena) in received_fd_.
  void ReadWithDescriptor(const boost::system::error_code& error);
  void OnRead(const boost::system::error_code& error, size_t bytes);
  // Takes the payload arena the hello announces; false (an error was sent)
  // if it is missing or not fit to map.
  bool AcceptArena(const v1::Hello& hello);
  // Whether `submit`'s use of the payload arena is sound; if not, sends
  // PROTOCOL_VIOLATION saying why, closes, and returns false.
  bool CheckArenaUse(const v1::Submit& submit);
  // Handles every whole frame in the buffer; false if the connection must
  // stop (an error was sent).
  bool ProcessFrames();
  void HandleMessage(const v1::ClientMessage& message);
  void HandleHello(const v1::ClientMessage& message);
  // Parses one frame `body` and handles it; false if the connection must
  // stop (an error was sent).
  bool HandleFrame(std::string_view body, google::protobuf::Arena& arena);
  // Submits the tasks of `batch` (SubmitBatch bytes, in the decoder's
  // buffer) until reading is paused; the rest is held
  // in held_batch_ for ProcessFrames to go on with (ContinueBatch). False
  // if the connection must stop.
  bool StartBatch(std::string_view batch);
  bool ContinueBatch();
  // While paused: closes the connection if the peer hangs up.
  void WatchForHangUp();
  // Logs `error` (a bad frame) and sends it, then closes.
  void RefuseAndClose(const Status& error);
  // Counts a growth of buffered_bytes() into the peak.
  void NoteBuffered();
  // Tells the host what it holds changed (see ConnectionHost).
  void ReportBuffers();
  // Frees the buffers a closed connection no longer needs, now rather than
  // when the last handler lets go of it.
  void ReleaseBuffers();
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
  // The tasks of a SubmitBatch not yet admitted (reading was paused), and
  // the size of the buffer they live in, counted until the batch is done.
  std::string_view held_batch_;
  size_t held_batch_bytes_ = 0;
  bool watching_hang_up_ = false;  // an error wait is outstanding
  // A batch's tasks are parsed into this one by one.
  v1::Submit batch_task_;
  uint64_t peak_buffered_bytes_ = 0;
  std::string outgoing_;   // frames waiting for the current write to finish
  std::string writing_buffer_;  // frames being written now
  const std::chrono::milliseconds idle_timeout_;
  boost::asio::steady_timer idle_timer_;
  base::SteadyTime last_heard_;  // when the last whole frame arrived
  PeerDeadlines peer_deadlines_;
  boost::asio::steady_timer deadline_timer_;
  std::optional<base::SteadyTime> deadline_armed_for_;
  // A descriptor that came with the bytes before the hello was handled,
  // and the payload arena the hello made of it.
  base::UniqueFd received_fd_;
  std::shared_ptr<const PayloadArena> arena_;
  pid_t peer_pid_ = 0;
  // Until SO_PEERCRED says otherwise: nobody, so a failed read is refused.
  uid_t peer_uid_ = static_cast<uid_t>(-1);
  gid_t peer_gid_ = static_cast<gid_t>(-1);
};

}  // namespace taskpool::daemon
