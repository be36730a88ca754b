// DaemonConnection: registering and sending tasks, and failing. The read
// role is in daemon_connection_reading.cc.
#include "client/daemon_connection.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "client/wire_convert.h"

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
// Submissions share a frame up to this size; a larger payload travels in a
// frame of its own.
constexpr uint64_t kBatchFrameBytes = 1024 * 1024;
constexpr std::chrono::seconds kReaderGrace{1};

uint64_t MaxPayloadBytes(const v1::HelloReply& hello) {
  return hello.max_payload_bytes() != 0 ? hello.max_payload_bytes()
                                        : kDefaultMaxPayloadBytes;
}

unsigned SpinSlots(ClientOptions::Spin spin, uint32_t daemon_workers) {
  switch (spin) {
    case ClientOptions::Spin::kNever:
      return 0;
    case ClientOptions::Spin::kAlways:
      return std::max(1u, SpareCpusForSpinning(UsableCpus(), daemon_workers));
    case ClientOptions::Spin::kAuto:
      break;
  }
  return SpareCpusForSpinning(UsableCpus(), daemon_workers);
}

uint64_t TaskBytes(std::string_view function, size_t payload_bytes) {
  return payload_bytes + function.size() + kTaskEnvelopeBytes;
}

}  // namespace

DaemonConnection::DaemonConnection(Handshake handshake,
                                   const ClientOptions& options)
    : io_(std::move(handshake.io)),
      socket_(std::move(handshake.socket)),
      arena_(std::move(handshake.arena)),
      fd_(socket_->native_handle()),
      max_payload_bytes_(MaxPayloadBytes(handshake.hello)),
      max_in_flight_(handshake.hello.max_in_flight_per_connection()),
      when_unsent_full_(options.when_unsent_full),
      budget_{options.max_unsent_bytes, options.max_unsent_tasks},
      reader_(fd_, static_cast<size_t>(max_payload_bytes_ + kFrameEnvelopeBytes)),
      spin_(SpinSlots(options.spin, handshake.hello.workers())),
      send_queue_(fd_, budget_, max_in_flight_,
                  [this](int error_number) { WriteFailed(error_number); }) {
  reader_thread_ = std::thread([this] { ReaderThread(); });
  // Named here, not by the thread itself, so that it has its name before
  // anyone looks (ps, top, the tests).
  pthread_setname_np(reader_thread_.native_handle(), "taskpool-read");
}

DaemonConnection::~DaemonConnection() {
  Close();
  reader_thread_.join();
}

void DaemonConnection::Close() {
  Fail(ErrorCode::kCancelled, "the client was closed before the task finished");
}

TaskResult DaemonConnection::TooLarge(size_t payload_bytes) const {
  return FailedResult(ErrorCode::kPayloadTooLarge,
                      "payload of " + std::to_string(payload_bytes) +
                          " bytes exceeds the daemon's limit of " +
                          std::to_string(max_payload_bytes_));
}

std::optional<ClientArena::Range> DaemonConnection::PlaceInArena(std::string_view payload) {
  if (arena_ == nullptr || payload.size() < ClientArena::kMinPayloadBytes) return std::nullopt;
  std::optional<ClientArena::Range> range = arena_->Allocate(2 * payload.size());
  if (!range) range = arena_->Allocate(payload.size());
  if (range) std::memcpy(arena_->at(range->offset), payload.data(), payload.size());
  return range;
}

void DaemonConnection::ToWireTask(std::string_view function, std::string_view payload,
                                  const std::optional<ClientArena::Range>& range,
                                  const SubmitOptions& options, v1::Submit* submit) {
  ToWireSubmit(function, range ? std::string_view() : payload, options, submit);
  if (!range) return;
  submit->mutable_payload_in_arena()->set_offset(range->offset);
  submit->mutable_payload_in_arena()->set_size(payload.size());
  submit->set_output_room(range->size - payload.size());
}

void DaemonConnection::FreeArenaRanges(
    const std::vector<std::optional<ClientArena::Range>>& ranges) {
  for (const std::optional<ClientArena::Range>& range : ranges) {
    if (range) arena_->Free(*range);
  }
}

uint64_t DaemonConnection::Submit(std::string_view function,
                                  std::span<const std::string_view> payloads,
                                  const SubmitOptions& options,
                                  BatchCallback on_result, bool any_thread) {
  auto callback = std::make_shared<BatchCallback>(std::move(on_result));
  // A payload the daemon would refuse is refused here: sent, it could make
  // a frame so large that the daemon drops the whole connection.
  std::vector<size_t> sendable;
  sendable.reserve(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (payloads[i].size() <= max_payload_bytes_) {
      sendable.push_back(i);
    } else {
      (*callback)(i, TooLarge(payloads[i].size()));
    }
  }
  // Batches are split so that no frame outgrows what the daemon accepts,
  // nor holds more tasks than it lets this connection have in flight.
  const uint64_t batch_bytes = std::min(kBatchFrameBytes, max_payload_bytes_);
  const size_t batch_tasks = max_in_flight_ != 0 ? max_in_flight_ : SIZE_MAX;
  uint64_t first_id = 0;
  size_t begin = 0;
  while (begin < sendable.size()) {
    size_t end = begin;
    uint64_t frame_bytes = 0;
    while (end < sendable.size()) {
      const uint64_t task_bytes = TaskBytes(function, payloads[sendable[end]].size());
      if (end > begin &&
          (frame_bytes + task_bytes > batch_bytes || end - begin >= batch_tasks)) {
        break;
      }
      frame_bytes += task_bytes;
      ++end;
    }
    const uint64_t id = SubmitFrame(
        function, payloads,
        std::span<const size_t>(sendable).subspan(begin, end - begin), options,
        callback, frame_bytes, any_thread);
    if (first_id == 0) first_id = id;
    begin = end;
  }
  return first_id;
}

uint64_t DaemonConnection::SubmitFrame(std::string_view function,
                                       std::span<const std::string_view> payloads,
                                       std::span<const size_t> positions,
                                       const SubmitOptions& options,
                                       const std::shared_ptr<BatchCallback>& callback,
                                       uint64_t bytes, bool any_thread) {
  std::vector<Pending> tasks;
  std::vector<std::optional<ClientArena::Range>> ranges;
  tasks.reserve(positions.size());
  ranges.reserve(positions.size());
  for (size_t position : positions) {
    ranges.push_back(PlaceInArena(payloads[position]));
    // What the frame carries: not a payload that went to the arena.
    if (ranges.back()) bytes -= payloads[position].size();
    tasks.push_back({callback, position, 1, nullptr, any_thread, ranges.back()});
  }
  const Registered registered = Register(std::move(tasks), bytes, options, false);
  if (registered.first_id == 0) {
    FreeArenaRanges(ranges);
    return 0;
  }
  v1::ClientMessage message;
  for (size_t i = 0; i < positions.size(); ++i) {
    v1::Submit* task = positions.size() == 1
                           ? message.mutable_submit()
                           : message.mutable_submit_batch()->add_tasks();
    ToWireTask(function, payloads[positions[i]], ranges[i], options, task);
    task->set_id(registered.first_id + i);
  }
  if (registered.reserved) {
    send_queue_.Send(message, {registered.first_id, positions.size(), bytes});
  }
  return registered.first_id;
}

void DaemonConnection::SubmitChunk(std::string_view function,
                                   std::span<const std::string_view> payloads,
                                   const SubmitOptions& options,
                                   ChunkCallback on_results) {
  if (payloads.size() <= 1 || ChunkPayloadBytes(payloads) <= kMaxChunkBytes) {
    SubmitOneChunk(function, payloads, options, std::move(on_results));
    return;
  }
  auto callback = std::make_shared<ChunkCallback>(std::move(on_results));
  for (size_t first = 0; first < payloads.size();) {
    size_t end = first + 1;
    uint64_t bytes = ChunkPayloadBytes(payloads.subspan(first, 1));
    while (end < payloads.size() &&
           bytes + ChunkPayloadBytes(payloads.subspan(end, 1)) <= kMaxChunkBytes) {
      bytes += ChunkPayloadBytes(payloads.subspan(end, 1));
      ++end;
    }
    SubmitOneChunk(function, payloads.subspan(first, end - first), options,
                   [callback, first](size_t position, ChunkResults results) {
                     (*callback)(first + position, std::move(results));
                   });
    first = end;
  }
}

void DaemonConnection::SubmitOneChunk(std::string_view function,
                                      std::span<const std::string_view> payloads,
                                      const SubmitOptions& options,
                                      ChunkCallback on_results) {
  // Sized before it is encoded: a chunk of large items that cannot be one
  // task would otherwise be copied once for nothing.
  const uint64_t chunk_bytes = ChunkPayloadBytes(payloads);
  if (payloads.size() <= 1 || chunk_bytes > max_payload_bytes_) {
    Submit(function, payloads, options,
           [on_results = std::move(on_results)](size_t position, TaskResult result) {
             on_results(position, ChunkResults{1, std::move(result)});
           });
    return;
  }
  auto callback = std::make_shared<ChunkCallback>(std::move(on_results));
  const uint64_t bytes = TaskBytes(function, chunk_bytes);
  std::vector<Pending> tasks;
  tasks.push_back(Pending{nullptr, 0, payloads.size(), callback, false, std::nullopt});
  const Registered registered = Register(std::move(tasks), bytes, options, false);
  if (registered.first_id == 0) return;
  v1::ClientMessage message;
  v1::Submit* submit = message.mutable_submit();
  ToWireChunk(function, payloads, options, submit);
  submit->set_id(registered.first_id);
  if (registered.reserved) send_queue_.Send(message, {registered.first_id, 1, bytes});
}

TaskResult DaemonConnection::Call(std::string_view function,
                                  std::string_view payload,
                                  const SubmitOptions& options,
                                  std::optional<std::chrono::milliseconds> wait) {
  if (payload.size() > max_payload_bytes_) return TooLarge(payload.size());
  std::optional<FrameReader::Clock::time_point> deadline;
  if (wait) deadline = FrameReader::Clock::now() + *wait;
  auto promise = std::make_shared<std::promise<TaskResult>>();
  std::future<TaskResult> future = promise->get_future();
  auto callback = std::make_shared<BatchCallback>(
      [promise](size_t, TaskResult result) { promise->set_value(std::move(result)); });
  const std::optional<ClientArena::Range> range = PlaceInArena(payload);
  const uint64_t bytes = TaskBytes(function, range ? 0 : payload.size());
  std::vector<Pending> tasks;
  tasks.push_back({std::move(callback), 0, 1, nullptr, true, range});
  const Registered registered = Register(std::move(tasks), bytes, options, true);
  if (registered.first_id == 0) {
    FreeArenaRanges({range});
  } else {
    v1::ClientMessage message;
    ToWireTask(function, payload, range, options, message.mutable_submit());
    message.mutable_submit()->set_id(registered.first_id);
    if (registered.reserved) send_queue_.Send(message, {registered.first_id, 1, bytes});
    if (registered.read_here) {
      return ReadOwnResult(registered.first_id, future, deadline, wait);
    }
  }
  return Await(future, deadline, wait);
}

TaskResult DaemonConnection::Await(std::future<TaskResult>& future,
                                   std::optional<FrameReader::Clock::time_point> deadline,
                                   std::optional<std::chrono::milliseconds> wait) {
  if (deadline && future.wait_until(*deadline) != std::future_status::ready) {
    return FailedResult(ErrorCode::kWaitTimeout,
                        "no result within " + std::to_string(wait->count()) +
                            " ms; the task may still run");
  }
  return future.get();
}

SendQueue::WhenFull DaemonConnection::WhenFull(const SubmitOptions& options) const {
  if (options.fail_if_full || when_unsent_full_ == ClientOptions::WhenUnsentFull::kFail) {
    return SendQueue::WhenFull::kRefuse;
  }
  // A callback submitting more must not wait: only its thread reads the
  // results that make room.
  return std::this_thread::get_id() == reader_thread_.get_id()
             ? SendQueue::WhenFull::kOverflow
             : SendQueue::WhenFull::kWait;
}

DaemonConnection::Registered DaemonConnection::Register(
    std::vector<Pending> tasks, uint64_t bytes, const SubmitOptions& options,
    bool may_read_here) {
  const SendQueue::Room room = send_queue_.Reserve(bytes, tasks.size(), WhenFull(options));
  if (room == SendQueue::Room::kFull) {
    const TaskResult full = FailedResult(
        ErrorCode::kQueueFull,
        "the client's send queue is full: taskpoold has not yet read " +
            std::to_string(budget_.max_tasks) + " tasks or " +
            std::to_string(budget_.max_bytes) +
            " bytes of this connection's submissions "
            "(ClientOptions::max_unsent_tasks, max_unsent_bytes)");
    for (const Pending& task : tasks) CompleteAll(task, full);
    return {};
  }
  const bool reserved = room == SendQueue::Room::kReserved;
  std::unique_lock lock(mutex_);
  if (broken_ || failure_for_reader_) {
    const TaskResult lost = FailedResult(
        ErrorCode::kConnectionLost, broken_ ? broken_reason_ : failure_for_reader_->second);
    lock.unlock();
    if (reserved) send_queue_.Unreserve(bytes, tasks.size());
    for (const Pending& task : tasks) CompleteAll(task, lost);
    return {};
  }
  // Not reserved: a write failed and the connection is about to break;
  // registered, the tasks get the reason the reader finds for it.
  Registered registered{next_id_, false, reserved};
  next_id_ += tasks.size();
  const size_t count = tasks.size();
  for (size_t i = 0; i < count; ++i) {
    pending_.emplace(registered.first_id + i, std::move(tasks[i]));
  }
  if (read_role_ == ReadRole::kFree) {
    if (may_read_here && pending_.size() == count && replies_.empty() &&
        handed_to_reader_.empty()) {
      read_role_ = ReadRole::kCaller;
      registered.read_here = true;
    } else {
      reader_wake_.notify_one();
    }
  }
  return registered;
}

void DaemonConnection::CompleteAll(const Pending& task, const TaskResult& result) {
  if (task.chunk_callback != nullptr) {
    (*task.chunk_callback)(task.position, ChunkResults{task.items, result});
  } else {
    (*task.callback)(task.position, result);
  }
}

void DaemonConnection::Cancel(uint64_t id, bool kill_running) {
  {
    std::lock_guard lock(mutex_);
    if (broken_) return;
  }
  v1::ClientMessage message;
  message.mutable_cancel()->set_id(id);
  message.mutable_cancel()->set_kill_running(kill_running);
  send_queue_.SendAhead(message, id);
}

Result<v1::ServerMessage> DaemonConnection::Request(const v1::ClientMessage& request,
                                                    std::chrono::milliseconds wait) {
  auto promise = std::make_shared<ReplyPromise>();
  std::future<Result<v1::ServerMessage>> reply = promise->get_future();
  // Queued for its answer in the frames' order: the daemon answers
  // requests in the order it reads them.
  send_queue_.Send(request, {}, [&] {
    std::lock_guard lock(mutex_);
    if (broken_ || failure_for_reader_) {
      promise->set_value(Status(ErrorCode::kConnectionLost,
                                broken_ ? broken_reason_ : failure_for_reader_->second));
      return;
    }
    replies_.push_back(promise);
    if (read_role_ == ReadRole::kFree) reader_wake_.notify_one();
  });
  if (reply.wait_for(wait) != std::future_status::ready) {
    // The waiter stays queued: its reply, when it comes, must still be
    // matched to it so later replies pair with the right requests.
    return Status(ErrorCode::kWaitTimeout, "taskpoold did not answer within " +
                                               std::to_string(wait.count()) +
                                               " ms");
  }
  return reply.get();
}

void DaemonConnection::WriteFailed(int error_number) {
  // The daemon is gone or going. The reader is about to see why (an Error
  // the daemon sent before closing, or end-of-file), which explains more
  // than EPIPE, so give it a moment to fail the connection first.
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kReaderGrace, [this] { return broken_; });
  }
  Fail(ErrorCode::kConnectionLost, std::string("taskpoold closed the connection (writing: ") +
                                       std::strerror(error_number) + ")");
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
    handed_to_reader_.clear();
  }
  changed_.notify_all();
  reader_wake_.notify_all();
  send_queue_.Close();
  // Wakes whoever reads and a writer blocked on a full socket. A bare
  // shutdown(2) leaves the descriptor valid for them, unlike close().
  ::shutdown(fd_, SHUT_RDWR);
  const TaskResult failed = FailedResult(code, why);
  for (const auto& [id, task] : pending) CompleteAll(task, failed);
  for (auto& waiter : replies) waiter->set_value(Status(code, why));
}

}  // namespace taskpool::client
