#include "daemon/serve/client_session.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <google/protobuf/arena.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/descriptor_passing.h"
#include "base/log.h"
#include "wire/batch_reader.h"
#include "wire/error_code.h"
#include "wire/result_frame.h"

namespace taskpool::daemon {

namespace {

// Why a connection that did not begin with a hello is closed.
std::string HelloFirst() {
  return "the first message must be hello with protocol_version " +
         std::to_string(v1::PROTOCOL_VERSION_CURRENT);
}
// Bytes asked for per read: enough for many small frames at once.
constexpr size_t kReadChunk = 64 * 1024;
// Arena for parsed client messages (see ProcessFrames).
constexpr size_t kArenaBlockBytes = 32 * 1024;
constexpr size_t kArenaResetBytes = 256 * 1024;
// A buffer that grew past this for a large frame or a burst of replies is
// freed once empty, rather than kept (and counted against the budget) for
// a connection that may never need it again.
constexpr size_t kKeptBufferBytes = 4 * kReadChunk;

// Frees `buffer` if it is empty and larger than what a connection keeps.
void ReleaseIfEmpty(std::string& buffer) {
  if (buffer.empty() && buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);
}
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
  // A held batch lives in the decoder's buffer, which a read would move.
  if (reading_ || paused_ || closed_ || phase_ == Phase::kClosing || !held_batch_.empty()) return;
  reading_ = true;
  if (phase_ == Phase::kAwaitingHello) {
    // A plain read would drop (and close) a descriptor sent with the hello.
    socket_.async_wait(Socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& error) {
                         self->ReadWithDescriptor(error);
                       });
    return;
  }
  // The rest of a large frame in one read, not in 64 KiB pieces.
  const size_t size = decoder_.ReadSize(kReadChunk);
  char* area = decoder_.PrepareAppend(size);
  socket_.async_read_some(
      boost::asio::buffer(area, size),
      [self = shared_from_this()](const boost::system::error_code& error,
                                  size_t bytes) { self->OnRead(error, bytes); });
}

void ClientSession::ReadWithDescriptor(const boost::system::error_code& error) {
  if (error) {
    OnRead(error, 0);
    return;
  }
  const size_t size = decoder_.ReadSize(kReadChunk);
  char* area = decoder_.PrepareAppend(size);
  const ssize_t received =
      base::ReceiveWithDescriptor(socket_.native_handle(), area, size, &received_fd_);
  if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    reading_ = false;  // a wake with nothing to read: wait again
    ReadSome();
    return;
  }
  if (received <= 0) {
    OnRead(received == 0 ? boost::asio::error::eof
                         : boost::system::error_code(errno, boost::system::system_category()),
           0);
    return;
  }
  OnRead({}, static_cast<size_t>(received));
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
  NoteBuffered();
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
  if (!held_batch_.empty()) {
    if (!ContinueBatch()) return false;
    if (!held_batch_.empty()) return true;  // paused again
  }
  bool completed_a_frame = false;
  bool unfinished_frame_waits = false;
  // Stop early when paused: frames already buffered wait for ResumeReading.
  while (!paused_ && !closed_ && phase_ != Phase::kClosing) {
    if (arena.SpaceAllocated() > kArenaResetBytes) arena.Reset();
    std::string_view body;
    Status error;
    const wire::FrameDecoder::Outcome outcome = decoder_.Next(&body, &error);
    if (outcome == wire::FrameDecoder::Outcome::kNeedMore) {
      unfinished_frame_waits = decoder_.buffered() > 0;
      break;
    }
    if (outcome == wire::FrameDecoder::Outcome::kError) {
      RefuseAndClose(error);
      return false;
    }
    completed_a_frame = true;
    if (!HandleFrame(body, arena)) return false;
  }
  if (closed_ || phase_ == Phase::kClosing) return false;
  // Not while a batch is held: it lives in that buffer.
  if (held_batch_.empty()) decoder_.ReleaseIfEmpty(kKeptBufferBytes);
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

bool ClientSession::HandleFrame(std::string_view body, google::protobuf::Arena& arena) {
  // A batch is read task by task from its bytes, never parsed whole (see
  // wire/batch_reader.h).
  const wire::BatchFrame frame = wire::ReadBatchFrame(body);
  if (frame.kind == wire::BatchFrame::Kind::kMalformed) {
    RefuseAndClose(Status(ErrorCode::kMalformedFrame,
                          "a SubmitBatch must be its frame's only field, whole and well "
                          "framed (see taskpool.proto)"));
    return false;
  }
  if (frame.kind == wire::BatchFrame::Kind::kBatch) {
    if (phase_ == Phase::kReady) return StartBatch(frame.batch);
    SendErrorAndClose(ErrorCode::kProtocolViolation, HelloFirst());
    return false;
  }
  v1::ClientMessage& message = *google::protobuf::Arena::CreateMessage<v1::ClientMessage>(&arena);
  if (Status parsed = wire::ParseFrameBody(body, &message); !parsed.ok()) {
    RefuseAndClose(parsed);
    return false;
  }
  HandleMessage(message);
  return true;
}

void ClientSession::RefuseAndClose(const Status& error) {
  TP_LOG(kWarning) << "connection " << id_ << " (pid " << peer_pid_ << "): " << error.ToString()
                   << "; closing it";
  SendErrorAndClose(error.code(), error.message());
}

void ClientSession::HandleMessage(const v1::ClientMessage& message) {
  if (phase_ == Phase::kAwaitingHello) {
    HandleHello(message);
    return;
  }
  switch (message.kind_case()) {
    case v1::ClientMessage::kSubmit:
      if (CheckArenaUse(message.submit())) host_.OnSubmit(*this, message.submit());
      break;
    case v1::ClientMessage::kSubmitBatch:  // read by its bytes in HandleFrame
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
// connection (at --max-in-flight, at --max-connection-memory-mib, or the
// queue is full), the rest of the batch waits here until ResumeReading, as
// frames behind it wait unread in the socket. One frame of a million tasks
// is then no way around either limit, and the router never holds more than
// the limits let in.
//
// The batch stays where it arrived, in the decoder's buffer: nothing
// appends to that buffer (no read starts) until the batch is done.
bool ClientSession::StartBatch(std::string_view batch) {
  held_batch_ = batch;
  held_batch_bytes_ = batch.size();
  return ContinueBatch();
}

bool ClientSession::ContinueBatch() {
  while (!paused_ && !closed_ && phase_ != Phase::kClosing) {
    size_t offset = 0;
    Status error;
    const wire::BatchStep step = wire::NextBatchTask(held_batch_, &offset, &batch_task_, &error);
    held_batch_.remove_prefix(offset);
    if (step == wire::BatchStep::kEnd) break;
    if (step == wire::BatchStep::kError) {
      RefuseAndClose(error);
      return false;
    }
    if (!CheckArenaUse(batch_task_)) return false;
    host_.OnSubmit(*this, batch_task_);
  }
  if (closed_ || phase_ == Phase::kClosing) return false;
  if (held_batch_.empty()) {
    held_batch_bytes_ = 0;
  }
  return true;
}

void ClientSession::HandleHello(const v1::ClientMessage& message) {
  if (!message.has_hello()) {
    SendErrorAndClose(ErrorCode::kProtocolViolation, HelloFirst());
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
  if (!AcceptArena(message.hello())) return;
  v1::ServerMessage reply;
  host_.OnHello(*this, message.hello(), reply.mutable_hello());
  reply.mutable_hello()->set_payload_arena_accepted(arena_ != nullptr);
  phase_ = Phase::kReady;
  peer_deadlines_.HelloReceived();
  Send(reply);
}

bool ClientSession::AcceptArena(const v1::Hello& hello) {
  // A descriptor the hello does not announce is closed, not kept.
  base::UniqueFd fd = std::move(received_fd_);
  if (hello.payload_arena_bytes() == 0) return true;
  if (!fd) {
    SendErrorAndClose(ErrorCode::kProtocolViolation,
                      "the hello announces a payload arena of " +
                          std::to_string(hello.payload_arena_bytes()) +
                          " bytes, but no descriptor came with it (send it as SCM_RIGHTS "
                          "with the hello frame)");
    return false;
  }
  // Refused for want of descriptors: the client goes on without (the
  // hello reply says so), and nothing is wrong with what it sent.
  if (!PayloadArena::HaveRoomForAnother()) return true;
  Result<std::shared_ptr<const PayloadArena>> arena =
      PayloadArena::Accept(std::move(fd), hello.payload_arena_bytes());
  if (!arena.ok()) {
    RefuseAndClose(arena.status());
    return false;
  }
  arena_ = std::move(arena).value();
  return true;
}

bool ClientSession::CheckArenaUse(const v1::Submit& submit) {
  if (!submit.has_payload_in_arena()) return true;
  const v1::ArenaRange& range = submit.payload_in_arena();
  std::string wrong;
  if (arena_ == nullptr) {
    wrong = "payload_in_arena, but this connection has no payload arena (Hello.payload_arena_bytes)";
  } else if (!submit.payload().empty() || submit.chunk()) {
    wrong = "payload_in_arena together with a payload or a chunk";
  } else if (range.size() == 0) {
    wrong = "an empty payload_in_arena (send an empty input as payload)";
  } else if (!arena_->Holds(range.offset(), range.size(), submit.output_room())) {
    wrong = "payload_in_arena " + std::to_string(range.offset()) + "+" +
            std::to_string(range.size()) + " with output_room " +
            std::to_string(submit.output_room()) + " outside the arena of " +
            std::to_string(arena_->bytes()) + " bytes";
  }
  if (wrong.empty()) return true;
  RefuseAndClose(Status(ErrorCode::kProtocolViolation,
                        "task " + std::to_string(submit.id()) + ": " + wrong));
  return false;
}

void ClientSession::Send(const v1::ServerMessage& message) {
  if (closed_) return;
  wire::AppendFrame(message, &outgoing_);
  NoteBuffered();
  WriteSome();
  // Replies of its own (pongs, status) go through no task: a client that
  // asks for them and never reads is paused here.
  ReportBuffers();
}

// No budget check here: a result replaces its task's submission, which
// the budget counted when the task came in; the next submission, or the
// next write, looks again.
void ClientSession::SendResult(const v1::Result& result, std::string_view output) {
  if (closed_) return;
  wire::AppendResultFrame(result, output, &outgoing_);
  NoteBuffered();
  WriteSome();
}

// Bytes in use, not allocated: a large buffer's untouched capacity costs no
// memory, and what a small one keeps spare is bounded by kKeptBufferBytes.
uint64_t ClientSession::buffered_bytes() const {
  return decoder_.buffered() + held_batch_bytes_ + outgoing_.size() + writing_buffer_.size();
}

void ClientSession::NoteBuffered() {
  peak_buffered_bytes_ = std::max(peak_buffered_bytes_, buffered_bytes());
}

void ClientSession::ReportBuffers() {
  if (!closed_ && phase_ == Phase::kReady) host_.OnBuffersChanged(*this);
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
  writing_buffer_.clear();
  ReleaseIfEmpty(writing_buffer_);
  if (closed_) return;
  if (error) {
    TP_LOG(kDebug) << "connection " << id_ << ": write: " << error.message();
    Close();
    return;
  }
  WriteSome();
  // Replies drained: a connection paused at its budget may read again.
  ReportBuffers();
}

void ClientSession::PauseReading() {
  paused_ = true;
  // The peer cannot finish a frame we do not read.
  peer_deadlines_.ReadingPaused();
  WatchForHangUp();
}

// While paused nothing reads the socket, so no read sees the client go
// away; a client whose replies are all written (or that never had any)
// would then be held, with everything it holds, until it came back. A
// hang-up (both directions shut: the peer closed, or shut down its reading
// too, and can take no reply) still wakes an error wait.
void ClientSession::WatchForHangUp() {
  if (watching_hang_up_ || closed_) return;
  watching_hang_up_ = true;
  socket_.async_wait(Socket::wait_error,
                     [self = shared_from_this()](const boost::system::error_code& error) {
                       self->watching_hang_up_ = false;
                       if (error || self->closed_) return;
                       TP_LOG(kDebug) << "connection " << self->id_ << ": the peer hung up";
                       self->Close();
                     });
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
  ReleaseBuffers();
  host_.OnClosed(*this);
}

void ClientSession::ReleaseBuffers() {
  // Tasks still queued from the arena hold it themselves.
  arena_.reset();
  received_fd_.reset();
  held_batch_ = {};
  held_batch_bytes_ = 0;
  decoder_.Clear();
  std::string().swap(outgoing_);
  // A write in progress still reads it; OnWritten frees it.
  if (!writing_) std::string().swap(writing_buffer_);
}

}  // namespace taskpool::daemon
