#include "daemon/serve/client_session.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <google/protobuf/arena.h>

#include <vector>

#include "base/log.h"
#include "wire/result_frame.h"
#include "wire/error_code.h"

namespace taskpool::daemon {

namespace {
// Bytes asked for per read: enough for many small frames at once.
constexpr size_t kReadChunk = 64 * 1024;
// Arena for parsed client messages (see ProcessFrames).
constexpr size_t kArenaBlockBytes = 32 * 1024;
constexpr size_t kArenaResetBytes = 256 * 1024;
}  // namespace

namespace {
// The open WriteRounds, and the sessions whose writes wait for the last
// one to end. Per thread: sessions live on their event loop's thread.
thread_local int write_round_depth = 0;
thread_local std::vector<std::weak_ptr<ClientSession>> held_writers;
}  // namespace

ClientSession::WriteRound::WriteRound() { ++write_round_depth; }

ClientSession::WriteRound::~WriteRound() {
  if (--write_round_depth != 0) return;
  std::vector<std::weak_ptr<ClientSession>> writers;
  writers.swap(held_writers);
  for (const std::weak_ptr<ClientSession>& writer : writers) {
    if (const std::shared_ptr<ClientSession> session = writer.lock()) {
      session->write_held_ = false;
      session->WriteSome();
    }
  }
  // Nothing was held meanwhile (no round is open): keep the capacity.
  writers.clear();
  held_writers.swap(writers);
}

ClientSession::ClientSession(Socket socket, ConnectionHost& host, uint64_t connection_id,
                             uint64_t max_frame_bytes, Timeouts timeouts)
    : socket_(std::move(socket)),
      host_(host),
      id_(connection_id),
      decoder_(max_frame_bytes),
      idle_timeout_(timeouts.idle),
      idle_timer_(socket_.get_executor()),
      last_heard_(base::SteadyClock::now()),
      peer_deadlines_(timeouts.hello, timeouts.frame, last_heard_),
      deadline_timer_(socket_.get_executor()) {
  ReadPeerCredentials();
}

void ClientSession::ReadPeerCredentials() {
  ucred credentials {};
  socklen_t length = sizeof credentials;
  if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED,
                 &credentials, &length) == 0) {
    peer_pid_ = credentials.pid;
    peer_uid_ = credentials.uid;
    peer_gid_ = credentials.gid;
  }
}

void ClientSession::Start() {
  ReadSome();
  if (idle_timeout_.count() > 0) WatchIdleness();
  ArmPeerDeadlines();
}

void ClientSession::ArmPeerDeadlines() {
  if (closed_) return;
  const std::optional<base::SteadyTime> next = peer_deadlines_.Next();
  // Armed for the same or an earlier moment: it looks again then. So a
  // stream of whole frames costs no timer operation at all.
  if (!next || (deadline_armed_for_ && *deadline_armed_for_ <= *next)) return;
  deadline_armed_for_ = next;
  deadline_timer_.expires_at(*next);
  deadline_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->closed_) return;
    self->deadline_armed_for_.reset();
    if (std::optional<std::string> overdue =
            self->peer_deadlines_.Overdue(base::SteadyClock::now())) {
      TP_LOG(kInfo) << "connection " << self->id_ << " (pid " << self->peer_pid_ << "): "
                    << *overdue << "; closing it";
      self->SendErrorAndClose(ErrorCode::kIdleTimeout, *overdue);
      return;
    }
    self->ArmPeerDeadlines();
  });
}

// A client that holds a connection open and says nothing (a half frame
// and a stall, or a forgotten socket) costs a descriptor and a buffer; one
// that waits for results is not idle.
void ClientSession::WatchIdleness() {
  idle_timer_.expires_at(last_heard_ + idle_timeout_);
  idle_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->closed_) return;
    const bool quiet = base::SteadyClock::now() - self->last_heard_ >= self->idle_timeout_;
    if (quiet && !self->host_.HasTasksInFlight(*self) && !self->writing_) {
      TP_LOG(kInfo) << "connection " << self->id_ << " (pid " << self->peer_pid_
                    << ") idle for " << self->idle_timeout_.count() << " ms; closing it";
      self->SendErrorAndClose(ErrorCode::kIdleTimeout,
                              "no request and no task in flight for " +
                                  std::to_string(self->idle_timeout_.count()) +
                                  " ms (taskpoold --idle-timeout-ms)");
      return;
    }
    if (quiet) self->last_heard_ = base::SteadyClock::now();  // busy: look again later
    self->WatchIdleness();
  });
}

void ClientSession::ReadSome() {
  if (reading_ || paused_ || closed_ || phase_ == Phase::kClosing) return;
  reading_ = true;
  // The rest of a large frame in one read, not in 64 KiB pieces.
  const size_t size = decoder_.ReadSize(kReadChunk);
  char* area = decoder_.PrepareAppend(size);
  socket_.async_read_some(
      boost::asio::buffer(area, size),
      [self = shared_from_this()](const boost::system::error_code& error,
                                  size_t bytes) { self->OnRead(error, bytes); });
}

void ClientSession::OnRead(const boost::system::error_code& error, size_t bytes) {
  reading_ = false;
  if (closed_) return;
  if (error) {
    if (error != boost::asio::error::eof &&
        error != boost::asio::error::operation_aborted) {
      TP_LOG(kDebug) << "connection " << id_ << ": read: " << error.message();
    }
    Close();
    return;
  }
  decoder_.Commit(bytes);
  {
    // The replies to a read's worth of frames (pongs, rejections) in one
    // write.
    WriteRound round;
    if (!ProcessFrames()) return;
  }
  ReadSome();
}

bool ClientSession::ProcessFrames() {
  // Parsed messages live in an arena: a batch of N submits is then a few
  // block allocations instead of ~3N mallocs and frees (callgrind put the
  // parse/destroy pair at a fifth of the supervisor's per-task cost). What
  // the router keeps, it copies. Reset once it holds more than a few
  // frames' worth, so a long burst does not grow it.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = kArenaBlockBytes;
  arena_options.max_block_size = kArenaBlockBytes;
  google::protobuf::Arena arena(arena_options);
  // The rest of a batch goes before any frame after it.
  if (held_batch_) {
    SubmitBatchFrom(*held_batch_, held_batch_next_);
    if (held_batch_) return !closed_ && phase_ != Phase::kClosing;  // paused again
  }
  bool completed_a_frame = false;
  bool unfinished_frame_waits = false;
  // Stop early when paused: frames already buffered wait for ResumeReading.
  while (!paused_ && !closed_ && phase_ != Phase::kClosing) {
    if (arena.SpaceAllocated() > kArenaResetBytes) arena.Reset();
    v1::ClientMessage& message =
        *google::protobuf::Arena::CreateMessage<v1::ClientMessage>(&arena);
    Status error;
    const wire::FrameDecoder::Outcome outcome = decoder_.NextMessage(&message, &error);
    if (outcome == wire::FrameDecoder::Outcome::kNeedMore) {
      unfinished_frame_waits = decoder_.buffered() > 0;
      break;
    }
    if (outcome == wire::FrameDecoder::Outcome::kError) {
      TP_LOG(kWarning) << "connection " << id_ << " (pid " << peer_pid_
                       << "): " << error.ToString() << "; closing it";
      SendErrorAndClose(error.code(), error.message());
      return false;
    }
    completed_a_frame = true;
    HandleMessage(message);
  }
  if (closed_ || phase_ == Phase::kClosing) return false;
  // Only whole frames are hearing from the client: trickled bytes of an
  // unfinished one must not keep the idle timeout away.
  const base::SteadyTime now = base::SteadyClock::now();
  if (completed_a_frame) last_heard_ = now;
  if (paused_) {
    peer_deadlines_.ReadingPaused();
  } else {
    peer_deadlines_.AfterParsing(completed_a_frame, unfinished_frame_waits, now);
    ArmPeerDeadlines();
  }
  return true;
}

void ClientSession::HandleMessage(const v1::ClientMessage& message) {
  if (phase_ == Phase::kAwaitingHello) {
    HandleHello(message);
    return;
  }
  switch (message.kind_case()) {
    case v1::ClientMessage::kSubmit:
      host_.OnSubmit(*this, message.submit());
      break;
    case v1::ClientMessage::kSubmitBatch:
      SubmitBatchFrom(message.submit_batch(), 0);
      break;
    case v1::ClientMessage::kStatus: {
      v1::ServerMessage reply;
      host_.FillStatus(reply.mutable_status());
      Send(reply);
      break;
    }
    case v1::ClientMessage::kPing: {
      v1::ServerMessage reply;
      reply.mutable_pong()->set_nonce(message.ping().nonce());
      Send(reply);
      break;
    }
    case v1::ClientMessage::kCancel:
      host_.OnCancel(*this, message.cancel());
      break;
    case v1::ClientMessage::kHello:
      SendErrorAndClose(ErrorCode::kProtocolViolation,
                        "hello sent twice on one connection");
      break;
    case v1::ClientMessage::KIND_NOT_SET:
      SendErrorAndClose(ErrorCode::kProtocolViolation,
                        "message of unknown type (empty ClientMessage or a "
                        "field this daemon does not know)");
      break;
  }
}

// Task by task, like separate Submit frames: once the router pauses this
// connection (at --max-in-flight, or the queue is full), the rest of the
// batch waits here until ResumeReading, as frames behind it wait unread in
// the socket. One frame of a million tasks is then no way around the
// limit, and the router never holds more than the limit of them.
void ClientSession::SubmitBatchFrom(const v1::SubmitBatch& batch, int next) {
  while (next < batch.tasks_size() && !paused_ && !closed_ && phase_ != Phase::kClosing) {
    host_.OnSubmit(*this, batch.tasks(next++));
  }
  if (next == batch.tasks_size() || closed_ || phase_ == Phase::kClosing) {
    held_batch_.reset();  // may destroy `batch`: not used after this
    return;
  }
  // Copied out of the parse arena, which ProcessFrames reuses, on the first
  // pause only; at most one frame's worth.
  if (held_batch_.get() != &batch) held_batch_ = std::make_unique<v1::SubmitBatch>(batch);
  held_batch_next_ = next;
}

void ClientSession::HandleHello(const v1::ClientMessage& message) {
  if (!message.has_hello()) {
    SendErrorAndClose(ErrorCode::kProtocolViolation,
                      "the first message must be hello with "
                      "protocol_version " +
                          std::to_string(v1::PROTOCOL_VERSION_CURRENT));
    return;
  }
  const uint32_t version = message.hello().protocol_version();
  if (version != v1::PROTOCOL_VERSION_CURRENT) {
    SendErrorAndClose(
        ErrorCode::kVersionMismatch,
        "client speaks protocol version " + std::to_string(version) +
            ", this taskpoold speaks version " +
            std::to_string(v1::PROTOCOL_VERSION_CURRENT));
    return;
  }
  v1::ServerMessage reply;
  host_.OnHello(*this, message.hello(), reply.mutable_hello());
  phase_ = Phase::kReady;
  peer_deadlines_.HelloReceived();
  Send(reply);
}

void ClientSession::Send(const v1::ServerMessage& message) {
  if (closed_) return;
  wire::AppendFrame(message, &outgoing_);
  WriteSome();
}

void ClientSession::SendResult(const v1::Result& result, std::string_view output) {
  if (closed_) return;
  wire::AppendResultFrame(result, output, &outgoing_);
  WriteSome();
}

void ClientSession::SendErrorAndClose(ErrorCode code, const std::string& text) {
  v1::ServerMessage message;
  message.mutable_error()->set_code(wire::ToWireCode(code));
  message.mutable_error()->set_message(text);
  Send(message);
  CloseAfterFlush();
}

void ClientSession::WriteSome() {
  if (writing_ || closed_ || write_held_) return;
  if (outgoing_.empty()) {
    if (close_after_flush_) Close();
    return;
  }
  if (write_round_depth > 0) {
    write_held_ = true;
    held_writers.push_back(weak_from_this());
    return;
  }
  writing_ = true;
  writing_buffer_.clear();
  writing_buffer_.swap(outgoing_);
  boost::asio::async_write(
      socket_, boost::asio::buffer(writing_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error,
                                  size_t) { self->OnWritten(error); });
}

void ClientSession::OnWritten(const boost::system::error_code& error) {
  writing_ = false;
  if (closed_) return;
  if (error) {
    TP_LOG(kDebug) << "connection " << id_ << ": write: " << error.message();
    Close();
    return;
  }
  WriteSome();
}

void ClientSession::PauseReading() {
  paused_ = true;
  // The peer cannot finish a frame we do not read.
  peer_deadlines_.ReadingPaused();
}

void ClientSession::ResumeReading() {
  if (!paused_ || closed_) return;
  paused_ = false;
  // Posted, not run here: the caller (the router) may be in the middle of
  // its own bookkeeping, and processing frames submits more tasks.
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    // Frames that arrived before the pause come first.
    if (self->paused_ || !self->ProcessFrames()) return;
    self->ReadSome();
  });
}

void ClientSession::CloseAfterFlush() {
  if (closed_) return;
  phase_ = Phase::kClosing;
  close_after_flush_ = true;
  if (!writing_ && outgoing_.empty()) Close();
}

void ClientSession::Close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  deadline_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  host_.OnClosed(*this);
}

}  // namespace taskpool::daemon
