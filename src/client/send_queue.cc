#include "client/send_queue.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "wire/framing.h"

namespace taskpool::client {

namespace {

// Frames gathered into one sendmsg(): enough that a backlog of small
// submissions leaves in a few system calls.
constexpr int kMaxPieces = 64;
// The direct path's buffer is kept up to one frame of a 2 MiB payload; a
// larger frame's is freed after it is sent.
constexpr size_t kKeptScratchBytes = 2 * 1024 * 1024 + 4096;

}  // namespace

SendQueue::SendQueue(int fd, Budget budget, uint32_t max_in_flight,
                     ErrorHandler on_error)
    : fd_(fd),
      budget_(budget),
      max_in_flight_(max_in_flight),
      on_error_(std::move(on_error)) {}

SendQueue::~SendQueue() {
  Close();
  if (writer_.joinable()) writer_.join();
}

bool SendQueue::Fits(uint64_t bytes, uint64_t tasks) const {
  // A frame larger than the whole budget still goes when nothing waits.
  if (waiting_bytes_ == 0 && waiting_tasks_ == 0) return true;
  return waiting_bytes_ + bytes <= budget_.max_bytes &&
         waiting_tasks_ + tasks <= budget_.max_tasks;
}

SendQueue::Room SendQueue::Reserve(uint64_t bytes, uint64_t tasks,
                                   WhenFull when_full) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (closed_ || write_error_ != 0) return Room::kClosed;
    if (when_full == WhenFull::kOverflow || Fits(bytes, tasks)) {
      waiting_bytes_ += bytes;
      waiting_tasks_ += tasks;
      return Room::kReserved;
    }
    if (when_full == WhenFull::kRefuse) return Room::kFull;
    room_.wait(lock);
  }
}

void SendQueue::Unreserve(uint64_t bytes, uint64_t tasks) {
  std::lock_guard lock(mutex_);
  waiting_bytes_ -= bytes;
  waiting_tasks_ -= tasks;
  room_.notify_all();
}

bool SendQueue::MayRelease(uint64_t tasks) const {
  // A frame above the whole limit still goes once nothing is in flight.
  return max_in_flight_ == 0 || in_flight_ == 0 ||
         in_flight_ + tasks <= max_in_flight_;
}

SendQueue::Frame SendQueue::Encode(const google::protobuf::MessageLite& message,
                                   size_t size, uint64_t tasks, uint64_t first_id) {
  Frame frame{std::make_unique_for_overwrite<char[]>(size), size, tasks, first_id};
  wire::WriteFrameTo(message, frame.bytes.get());
  return frame;
}

void SendQueue::Send(const google::protobuf::MessageLite& message, Tasks tasks,
                     const std::function<void()>& in_order) {
  const size_t size = wire::FrameSize(message);
  std::lock_guard lock(mutex_);
  if (in_order) in_order();
  if (closed_ || write_error_ != 0) {
    waiting_bytes_ -= tasks.reserved_bytes;
    waiting_tasks_ -= tasks.count;
    room_.notify_all();
    return;
  }
  // The reservation was an estimate; from here on the frame's real size.
  waiting_bytes_ += size;
  waiting_bytes_ -= tasks.reserved_bytes;
  if (!queue_.empty() || writer_active_ || !MayRelease(tasks.count)) {
    queue_.push_back(Encode(message, size, tasks.count, tasks.first_id));
    if (!writer_active_) Pump();
    return;
  }
  // Nothing waits before it: straight into the socket, on this thread.
  if (size > scratch_capacity_) {
    scratch_ = std::make_unique_for_overwrite<char[]>(size);
    scratch_capacity_ = size;
  }
  wire::WriteFrameTo(message, scratch_.get());
  if (max_in_flight_ != 0) in_flight_ += tasks.count;
  size_t sent = 0;
  int error = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd_, scratch_.get() + sent, size - sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      error = n < 0 ? errno : EPIPE;
      break;
    }
  }
  waiting_bytes_ -= sent;
  if (sent == size) {
    waiting_tasks_ -= tasks.count;
    room_.notify_all();  // others' reservations may be what fills the budget
  } else if (error != 0) {
    waiting_bytes_ -= size - sent;
    waiting_tasks_ -= tasks.count;
    Failed(error);
  } else {
    // The socket is full: the rest waits for the writer.
    Frame rest{std::make_unique_for_overwrite<char[]>(size - sent), size - sent,
               tasks.count, tasks.first_id};
    std::memcpy(rest.bytes.get(), scratch_.get() + sent, size - sent);
    queue_.push_back(std::move(rest));
    released_ = 1;
    head_sent_ = 0;
    HandOverToWriter();
  }
  if (scratch_capacity_ > kKeptScratchBytes) {
    scratch_.reset();
    scratch_capacity_ = 0;
  }
}

void SendQueue::SendAhead(const google::protobuf::MessageLite& message,
                          uint64_t after_task_id) {
  const size_t size = wire::FrameSize(message);
  std::lock_guard lock(mutex_);
  if (closed_ || write_error_ != 0) return;
  waiting_bytes_ += size;
  size_t at = released_;
  for (size_t i = released_; i < queue_.size(); ++i) {
    if (queue_[i].Carries(after_task_id)) {
      at = i + 1;
      break;
    }
  }
  queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(at),
                Encode(message, size, 0, 0));
  if (!writer_active_) Pump();
}

void SendQueue::OnAnswered(uint64_t tasks) {
  if (max_in_flight_ == 0 || tasks == 0) return;
  std::lock_guard lock(mutex_);
  in_flight_ -= std::min(tasks, in_flight_);
  if (released_ == queue_.size()) return;  // nothing held back by the limit
  if (writer_active_ || closed_ || write_error_ != 0) {
    Release();  // the writer picks them up after its current write
  } else {
    Pump();
  }
}

void SendQueue::Release() {
  while (released_ < queue_.size() && MayRelease(queue_[released_].tasks)) {
    if (max_in_flight_ != 0) in_flight_ += queue_[released_].tasks;
    ++released_;
  }
}

void SendQueue::Pump() {
  Release();
  while (released_ > 0 && !closed_ && write_error_ == 0) {
    iovec pieces[kMaxPieces];
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = static_cast<size_t>(GatherReleased(pieces, kMaxPieces));
    const ssize_t n = ::sendmsg(fd_, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      Consume(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      HandOverToWriter();
      return;
    } else {
      Failed(n < 0 ? errno : EPIPE);
      return;
    }
  }
}

int SendQueue::GatherReleased(iovec* pieces, int max) const {
  const int count = static_cast<int>(std::min<size_t>(released_, static_cast<size_t>(max)));
  for (int i = 0; i < count; ++i) {
    const Frame& frame = queue_[static_cast<size_t>(i)];
    const size_t skip = i == 0 ? head_sent_ : 0;
    pieces[i].iov_base = frame.bytes.get() + skip;
    pieces[i].iov_len = frame.size - skip;
  }
  return count;
}

void SendQueue::Consume(size_t bytes) {
  waiting_bytes_ -= bytes;
  while (bytes > 0) {
    const Frame& head = queue_.front();
    const size_t left = head.size - head_sent_;
    if (bytes < left) {
      head_sent_ += bytes;
      break;
    }
    bytes -= left;
    waiting_tasks_ -= head.tasks;
    queue_.pop_front();
    --released_;
    head_sent_ = 0;
  }
  room_.notify_all();
}

void SendQueue::HandOverToWriter() {
  writer_active_ = true;
  WakeWriter();
}

void SendQueue::Failed(int error_number) {
  write_error_ = error_number;
  Drop();
  // The writer reports it: the handler may wait, and whoever saw the
  // failure (a submitting thread, say) must not.
  WakeWriter();
}

void SendQueue::WakeWriter() {
  if (writer_.joinable()) {
    writer_wake_.notify_one();
    return;
  }
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "taskpool-write");
}

void SendQueue::Drop() {
  for (size_t i = 0; i < queue_.size(); ++i) {
    waiting_bytes_ -= queue_[i].size - (i == 0 ? head_sent_ : 0);
    waiting_tasks_ -= queue_[i].tasks;
  }
  queue_.clear();
  released_ = 0;
  head_sent_ = 0;
  room_.notify_all();
}

void SendQueue::Close() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  // Frames the writer is writing stay until its write returns.
  if (!writer_active_) Drop();
  writer_wake_.notify_one();
  room_.notify_all();
}

void SendQueue::WriterLoop() {
  std::unique_lock lock(mutex_);
  bool reported = false;
  for (;;) {
    writer_wake_.wait(lock, [&] {
      return closed_ || writer_active_ || (write_error_ != 0 && !reported);
    });
    if (write_error_ != 0 && !reported) {
      reported = true;
      writer_active_ = false;
      const int error_number = write_error_;
      lock.unlock();
      on_error_(error_number);
      lock.lock();
      continue;
    }
    if (closed_) {
      writer_active_ = false;
      Drop();
      return;
    }
    iovec pieces[kMaxPieces];
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = static_cast<size_t>(GatherReleased(pieces, kMaxPieces));
    if (message.msg_iovlen == 0) {
      writer_active_ = false;
      continue;
    }
    // Without the lock: others queue behind these frames meanwhile, and
    // nobody else touches the released ones while the writer is active.
    lock.unlock();
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);  // blocks
    const int error_number = n < 0 ? errno : 0;
    lock.lock();
    if (closed_) continue;
    if (n > 0) {
      Consume(static_cast<size_t>(n));
      Release();
      if (released_ == 0) writer_active_ = false;
    } else if (error_number != EINTR) {
      writer_active_ = false;
      Failed(error_number != 0 ? error_number : EPIPE);
    }
  }
}

}  // namespace taskpool::client
