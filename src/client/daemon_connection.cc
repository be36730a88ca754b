#include "client/daemon_connection.h"

#include <sys/socket.h>

#include <boost/asio/write.hpp>

#include <algorithm>
#include <memory>

#include "client/wire_convert.h"
#include "wire/framing.h"
#include "wire/error_code.h"

namespace taskpool::client {

namespace {

// Used when the daemon announces no payload limit.
constexpr uint64_t kDefaultMaxPayloadBytes = 16 * 1024 * 1024;
// A generous bound on what one task adds to a frame besides its payload
// and function name (id, options, field tags).
constexpr uint64_t kTaskEnvelopeBytes = 64;
// Room for the envelope around the largest payload (ids, error text,
// timings), so a maximal result is never mistaken for a bad frame.
constexpr uint64_t kFrameEnvelopeBytes = 1024 * 1024;
constexpr size_t kReadChunkBytes = 64 * 1024;
// Submissions share a frame up to this size; a larger payload travels in a
// frame of its own. Small enough for the write buffer to be kept (below).
constexpr uint64_t kBatchFrameBytes = 1024 * 1024;
// The write buffer is kept up to one frame of a 2 MiB payload; a larger
// frame's is freed after it is written.
constexpr size_t kKeptFrameBytes = 2 * 1024 * 1024 + 4096;
constexpr std::chrono::seconds kReaderGrace{1};

uint64_t MaxPayloadBytes(const v1::HelloReply& hello) {
  return hello.max_payload_bytes() != 0 ? hello.max_payload_bytes()
                                        : kDefaultMaxPayloadBytes;
}

}  // namespace

DaemonConnection::DaemonConnection(Handshake handshake)
    : io_(std::move(handshake.io)),
      socket_(std::move(handshake.socket)),
      max_payload_bytes_(MaxPayloadBytes(handshake.hello)),
      max_in_flight_(handshake.hello.max_in_flight_per_connection()) {
  reader_ = std::thread([this] {
    ReadLoop(static_cast<size_t>(max_payload_bytes_ + kFrameEnvelopeBytes));
  });
}

DaemonConnection::~DaemonConnection() {
  Close();
  reader_.join();
}

void DaemonConnection::Close() {
  Fail(ErrorCode::kCancelled, "the client was closed before the task finished");
}

bool DaemonConnection::connected() const {
  std::lock_guard lock(mutex_);
  return !broken_;
}

uint64_t DaemonConnection::Submit(std::string_view function,
                            std::span<const std::string_view> payloads,
                            const SubmitOptions& options, BatchCallback on_result) {
  auto callback = std::make_shared<BatchCallback>(std::move(on_result));
  // A payload the daemon would refuse is refused here: sent, it could make
  // a frame so large that the daemon drops the whole connection.
  std::vector<size_t> sendable;
  sendable.reserve(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (payloads[i].size() <= max_payload_bytes_) {
      sendable.push_back(i);
      continue;
    }
    (*callback)(
        i, FailedResult(ErrorCode::kPayloadTooLarge,
                        "payload of " + std::to_string(payloads[i].size()) +
                            " bytes exceeds the daemon's limit of " +
                            std::to_string(max_payload_bytes_)));
  }
  // Batches are split so that no frame outgrows what the daemon accepts,
  // nor the write buffer worth keeping.
  const uint64_t batch_bytes = std::min(kBatchFrameBytes, max_payload_bytes_);
  uint64_t first_id = 0;
  size_t begin = 0;
  while (begin < sendable.size()) {
    size_t end = begin;
    uint64_t frame_bytes = 0;
    while (end < sendable.size()) {
      const uint64_t task_bytes =
          payloads[sendable[end]].size() + function.size() + kTaskEnvelopeBytes;
      if (end > begin && frame_bytes + task_bytes > batch_bytes) break;
      frame_bytes += task_bytes;
      ++end;
    }
    const uint64_t id = SubmitFrame(
        function, payloads,
        std::span<const size_t>(sendable).subspan(begin, end - begin), options,
        callback);
    if (first_id == 0) first_id = id;
    begin = end;
  }
  return first_id;
}

void DaemonConnection::Cancel(uint64_t id, bool kill_running) {
  if (!connected()) return;
  v1::ClientMessage message;
  message.mutable_cancel()->set_id(id);
  message.mutable_cancel()->set_kill_running(kill_running);
  Write(message, nullptr);
}

uint64_t DaemonConnection::SubmitFrame(std::string_view function,
                                 std::span<const std::string_view> payloads,
                                 std::span<const size_t> positions,
                                 const SubmitOptions& options,
                                 const std::shared_ptr<BatchCallback>& callback) {
  std::vector<Pending> tasks;
  tasks.reserve(positions.size());
  for (size_t position : positions) tasks.push_back({callback, position, 1, nullptr});
  const uint64_t first_id = Register(std::move(tasks));
  if (first_id == 0) return 0;

  v1::ClientMessage message;
  for (size_t i = 0; i < positions.size(); ++i) {
    v1::Submit* task = positions.size() == 1
                           ? message.mutable_submit()
                           : message.mutable_submit_batch()->add_tasks();
    ToWireSubmit(function, payloads[positions[i]], options, task);
    task->set_id(first_id + i);
  }
  Write(message, nullptr);
  return first_id;
}

void DaemonConnection::SubmitChunk(std::string_view function,
                             std::span<const std::string_view> payloads,
                             const SubmitOptions& options, ChunkCallback on_results) {
  // Sized before it is encoded: a chunk of large items that cannot be one
  // task would otherwise be copied once for nothing.
  if (payloads.size() <= 1 || ChunkPayloadBytes(payloads) > max_payload_bytes_) {
    Submit(function, payloads, options,
           [on_results = std::move(on_results)](size_t position, TaskResult result) {
             std::vector<TaskResult> one;
             one.push_back(std::move(result));
             on_results(position, std::move(one));
           });
    return;
  }
  v1::ClientMessage message;
  v1::Submit* submit = message.mutable_submit();
  ToWireChunk(function, payloads, options, submit);
  auto callback = std::make_shared<ChunkCallback>(std::move(on_results));
  const uint64_t id = Register({Pending{nullptr, 0, payloads.size(), callback}});
  if (id == 0) return;
  submit->set_id(id);
  Write(message, nullptr);
}

uint64_t DaemonConnection::Register(std::vector<Pending> tasks) {
  std::unique_lock lock(mutex_);
  WaitForInFlightRoom(tasks.size(), lock);
  if (broken_) {
    const TaskResult lost = FailedResult(ErrorCode::kConnectionLost, broken_reason_);
    lock.unlock();
    for (const Pending& task : tasks) CompleteAll(task, lost);
    return 0;
  }
  const uint64_t first_id = next_id_;
  next_id_ += tasks.size();
  for (size_t i = 0; i < tasks.size(); ++i) {
    pending_.emplace(first_id + i, std::move(tasks[i]));
  }
  return first_id;
}

void DaemonConnection::CompleteAll(const Pending& task, const TaskResult& result) {
  if (task.chunk_callback != nullptr) {
    (*task.chunk_callback)(task.position, std::vector<TaskResult>(task.items, result));
  } else {
    (*task.callback)(task.position, result);
  }
}

Result<v1::ServerMessage> DaemonConnection::Request(const v1::ClientMessage& request,
                                              std::chrono::milliseconds wait) {
  auto promise = std::make_shared<ReplyPromise>();
  std::future<Result<v1::ServerMessage>> reply = promise->get_future();
  Write(request, promise);
  if (reply.wait_for(wait) != std::future_status::ready) {
    // The waiter stays queued: its reply, when it comes, must still be
    // matched to it so later replies pair with the right requests.
    return Status(ErrorCode::kWaitTimeout, "taskpoold did not answer within " +
                                               std::to_string(wait.count()) +
                                               " ms");
  }
  return reply.get();
}

void DaemonConnection::Write(const v1::ClientMessage& message,
                       std::shared_ptr<ReplyPromise> reply) {
  boost::system::error_code ec;
  {
    std::lock_guard write_lock(write_mutex_);
    if (reply != nullptr) {
      std::lock_guard lock(mutex_);
      if (broken_) {
        reply->set_value(Status(ErrorCode::kConnectionLost, broken_reason_));
        return;
      }
      replies_.push_back(std::move(reply));
    }
    // Into a buffer kept between writes: a fresh one per large frame is a
    // page fault and a zero-fill per 4 KiB before the copy.
    const size_t frame_size = wire::FrameSize(message);
    if (frame_size > frame_capacity_) {
      frame_buffer_ = std::make_unique_for_overwrite<char[]>(frame_size);
      frame_capacity_ = frame_size;
    }
    wire::WriteFrameTo(message, frame_buffer_.get());
    boost::asio::write(*socket_, boost::asio::buffer(frame_buffer_.get(), frame_size), ec);
    if (frame_capacity_ > kKeptFrameBytes) {
      frame_buffer_.reset();
      frame_capacity_ = 0;
    }
  }
  if (ec) WriteFailed(ec);
}

void DaemonConnection::WriteFailed(const boost::system::error_code& ec) {
  // The daemon is gone or going. The reader is about to see why (an Error
  // the daemon sent before closing, or end-of-file), which explains more
  // than EPIPE, so give it a moment to fail the connection first.
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kReaderGrace, [this] { return broken_; });
  }
  Fail(ErrorCode::kConnectionLost,
       "taskpoold closed the connection (writing: " + ec.message() + ")");
}

void DaemonConnection::WaitForInFlightRoom(size_t tasks,
                                     std::unique_lock<std::mutex>& lock) {
  // The reader thread must never wait here: only it can make room.
  if (max_in_flight_ == 0 || std::this_thread::get_id() == reader_.get_id()) {
    return;
  }
  changed_.wait(lock, [&] {
    return broken_ || pending_.empty() ||
           pending_.size() + tasks <= max_in_flight_;
  });
}

void DaemonConnection::ReadLoop(size_t max_frame_bytes) {
  wire::FrameDecoder decoder(max_frame_bytes);
  v1::ServerMessage message;
  for (;;) {
    boost::system::error_code ec;
    // The rest of a large result in one read, not in 64 KiB pieces.
    const size_t size = decoder.ReadSize(kReadChunkBytes);
    const size_t n = socket_->read_some(
        boost::asio::buffer(decoder.PrepareAppend(size), size), ec);
    if (ec) {
      Fail(ErrorCode::kConnectionLost,
           ec == boost::asio::error::eof
               ? "taskpoold closed the connection"
               : "reading from taskpoold: " + ec.message());
      return;
    }
    decoder.Commit(n);
    for (;;) {
      Status error;
      const wire::FrameDecoder::Outcome outcome =
          decoder.NextMessage(&message, &error);
      if (outcome == wire::FrameDecoder::Outcome::kNeedMore) break;
      if (outcome == wire::FrameDecoder::Outcome::kError) {
        Fail(ErrorCode::kConnectionLost,
             "bad frame from taskpoold: " + error.ToString());
        return;
      }
      Dispatch(message);
    }
  }
}

void DaemonConnection::Dispatch(v1::ServerMessage& message) {
  switch (message.kind_case()) {
    case v1::ServerMessage::kResult:
      Complete(*message.mutable_result());
      break;
    case v1::ServerMessage::kResultBatch:
      for (v1::Result& result : *message.mutable_result_batch()->mutable_results()) {
        Complete(result);
      }
      break;
    case v1::ServerMessage::kStatus:
    case v1::ServerMessage::kPong:
      AnswerRequest(message);
      break;
    case v1::ServerMessage::kError: {
      // The daemon closes the connection after any error, and an error
      // names no task ids: every pending call fails now rather than hang.
      const Status error(wire::FromWireCode(message.error().code()),
                         message.error().message());
      Fail(ErrorCode::kConnectionLost,
           "taskpoold closed the connection: " + error.ToString());
      break;
    }
    case v1::ServerMessage::kHello:
    case v1::ServerMessage::KIND_NOT_SET:
      // A second hello or a kind newer than this client: nothing waits on
      // it, and skipping it keeps the connection useful.
      break;
  }
}

void DaemonConnection::Complete(v1::Result& result) {
  Pending pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(result.id());
    // An unknown id can only be a daemon bug; nothing waits on it.
    if (it == pending_.end()) return;
    pending = std::move(it->second);
    pending_.erase(it);
  }
  changed_.notify_all();
  if (pending.chunk_callback != nullptr) {
    (*pending.chunk_callback)(pending.position,
                              FromWireChunkResult(result, pending.items));
  } else {
    (*pending.callback)(pending.position, FromWireResult(std::move(result)));
  }
}

void DaemonConnection::AnswerRequest(const v1::ServerMessage& message) {
  std::shared_ptr<ReplyPromise> waiter;
  {
    std::lock_guard lock(mutex_);
    if (replies_.empty()) return;  // unsolicited; nobody to tell
    waiter = std::move(replies_.front());
    replies_.pop_front();
  }
  waiter->set_value(message);
}

void DaemonConnection::Fail(ErrorCode code, const std::string& why) {
  std::unordered_map<uint64_t, Pending> pending;
  std::deque<std::shared_ptr<ReplyPromise>> replies;
  {
    std::lock_guard lock(mutex_);
    if (broken_) return;
    broken_ = true;
    broken_reason_ = why;
    pending.swap(pending_);
    replies.swap(replies_);
  }
  changed_.notify_all();
  // Wakes the reader (EOF) and any writer blocked on a full socket. A bare
  // shutdown(2) leaves the descriptor valid for them, unlike close().
  ::shutdown(socket_->native_handle(), SHUT_RDWR);
  const TaskResult failed = FailedResult(code, why);
  for (const auto& [id, task] : pending) CompleteAll(task, failed);
  for (auto& waiter : replies) waiter->set_value(Status(code, why));
}

}  // namespace taskpool::client
