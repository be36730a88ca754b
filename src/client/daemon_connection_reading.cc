// DaemonConnection: the read role (see daemon_connection.h) — the reader
// thread, call()'s read of its own result, and what either does with each
// message.
#include "client/daemon_connection.h"
#include "client/wire_convert.h"
#include "wire/error_code.h"

namespace taskpool::client {

using Outcome = FrameReader::Outcome;

bool DaemonConnection::NeedsReading() const {
  return !pending_.empty() || !replies_.empty();
}

void DaemonConnection::ReaderThread() {
  std::unique_lock lock(mutex_);
  for (;;) {
    reader_wake_.wait(lock, [this] {
      return broken_ || failure_for_reader_ || !handed_to_reader_.empty() ||
             (read_role_ == ReadRole::kFree && NeedsReading());
    });
    if (!handed_to_reader_.empty()) {
      std::deque<v1::Result> handed;
      handed.swap(handed_to_reader_);
      lock.unlock();
      uint64_t answered = 0;
      for (v1::Result& result : handed) answered += Deliver(result, true, 0, nullptr);
      send_queue_.OnAnswered(answered);
      lock.lock();
      continue;
    }
    if (broken_) return;
    if (failure_for_reader_) {
      const auto [code, why] = *failure_for_reader_;
      lock.unlock();
      Fail(code, why);
      return;
    }
    read_role_ = ReadRole::kReaderThread;
    lock.unlock();
    if (!ReadWhilePending()) return;
    lock.lock();
  }
}

bool DaemonConnection::ReadWhilePending() {
  v1::ServerMessage message;
  std::string why;
  for (;;) {
    Outcome outcome = reader_.TakeBuffered(&message, &why);
    if (outcome == Outcome::kMessage) {
      bool role_released = false;
      if (!HandleMessage(message, true, 0, nullptr, &why, &role_released)) break;
      if (role_released) return true;
      continue;
    }
    if (outcome == Outcome::kNone) {
      {
        std::lock_guard lock(mutex_);
        if (broken_) return false;
        // Nothing waits: stop reading, so that the next call() may read
        // its own result.
        if (!NeedsReading()) {
          read_role_ = ReadRole::kFree;
          return true;
        }
      }
      outcome = reader_.ReadMore(std::nullopt, &why);
      if (outcome == Outcome::kRead) continue;
    }
    break;  // kClosed
  }
  Fail(ErrorCode::kConnectionLost, why);
  return false;
}

TaskResult DaemonConnection::ReadOwnResult(
    uint64_t id, std::future<TaskResult>& future,
    std::optional<FrameReader::Clock::time_point> deadline,
    std::optional<std::chrono::milliseconds> wait) {
  const FrameReader::Clock::time_point sent = FrameReader::Clock::now();
  v1::ServerMessage message;
  std::optional<TaskResult> own;
  std::string why;
  for (;;) {
    Outcome outcome = reader_.TakeBuffered(&message, &why);
    if (outcome == Outcome::kMessage) {
      if (!HandleMessage(message, false, id, &own, &why)) break;
      if (own) {
        spin_.Record(FrameReader::Clock::now() - sent);
        ReleaseReadRole();
        return std::move(*own);
      }
      continue;
    }
    if (outcome == Outcome::kNone) {
      outcome = Outcome::kTimeout;
      {
        const SpinSlot slot(spin_.slots());
        if (slot && spin_.budget().count() > 0) {
          outcome = reader_.SpinFor(spin_.budget(), &why);
        }
      }
      if (outcome == Outcome::kTimeout) outcome = reader_.ReadMore(deadline, &why);
      if (outcome == Outcome::kRead) continue;
      if (outcome == Outcome::kTimeout) {
        // The task stays pending: the reader thread takes over.
        ReleaseReadRole();
        return Await(future, deadline, wait);
      }
    }
    break;  // kClosed
  }
  // The reader thread fails the connection, this task included, at once.
  FailOnReaderThread(ErrorCode::kConnectionLost, why);
  return Await(future, std::nullopt, wait);
}

void DaemonConnection::ReleaseReadRole() {
  std::lock_guard lock(mutex_);
  read_role_ = ReadRole::kFree;
  if (NeedsReading() || !handed_to_reader_.empty()) reader_wake_.notify_one();
}

void DaemonConnection::FailOnReaderThread(ErrorCode code, const std::string& why) {
  std::lock_guard lock(mutex_);
  if (!broken_ && !failure_for_reader_) failure_for_reader_.emplace(code, why);
  read_role_ = ReadRole::kFree;
  reader_wake_.notify_one();
}

bool DaemonConnection::connected() {
  {
    std::lock_guard lock(mutex_);
    if (broken_ || failure_for_reader_) return false;
    if (read_role_ != ReadRole::kFree || NeedsReading()) return true;
    read_role_ = ReadRole::kCaller;
  }
  // Nothing is pending, so nobody reads: look at what the daemon sent (an
  // Error before closing, say) without waiting.
  v1::ServerMessage message;
  std::string why;
  for (;;) {
    Outcome outcome = reader_.TakeBuffered(&message, &why);
    if (outcome == Outcome::kMessage) {
      if (!HandleMessage(message, false, 0, nullptr, &why)) break;
      continue;
    }
    if (outcome == Outcome::kNone) {
      outcome = reader_.ReadMore(FrameReader::Clock::now(), &why);
      if (outcome == Outcome::kRead) continue;
      if (outcome == Outcome::kTimeout) {
        ReleaseReadRole();
        return true;
      }
    }
    break;  // kClosed
  }
  FailOnReaderThread(ErrorCode::kConnectionLost, why);
  return false;
}

bool DaemonConnection::HandleMessage(v1::ServerMessage& message, bool on_reader_thread,
                                     uint64_t own_id, std::optional<TaskResult>* own,
                                     std::string* failure, bool* role_released) {
  uint64_t answered = 0;
  switch (message.kind_case()) {
    case v1::ServerMessage::kResult:
      answered += Deliver(*message.mutable_result(), on_reader_thread, own_id, own,
                          role_released);
      break;
    case v1::ServerMessage::kResultBatch:
      // Once the role is given back nothing is pending: the rest of the
      // batch has no takers.
      for (v1::Result& result : *message.mutable_result_batch()->mutable_results()) {
        answered += Deliver(result, on_reader_thread, own_id, own, role_released);
        if (role_released != nullptr && *role_released) break;
      }
      break;
    case v1::ServerMessage::kStatus:
    case v1::ServerMessage::kPong:
      AnswerRequest(message, role_released);
      break;
    case v1::ServerMessage::kError: {
      // Even TOO_MANY_IN_FLIGHT, which the daemon does not close on, names
      // no task ids, so the tasks it rejected could never complete: giving
      // up the connection is the only way to keep "nothing hangs".
      const Status error(wire::FromWireCode(message.error().code()),
                         message.error().message());
      *failure = "taskpoold closed the connection: " + error.ToString();
      return false;
    }
    case v1::ServerMessage::kHello:
    case v1::ServerMessage::KIND_NOT_SET:
      // A second hello or a kind newer than this client: nothing waits on
      // it, and skipping it keeps the connection useful.
      break;
  }
  send_queue_.OnAnswered(answered);
  return true;
}

void DaemonConnection::ReleaseIfIdle(bool* role_released) {
  if (role_released == nullptr || read_role_ != ReadRole::kReaderThread ||
      NeedsReading()) {
    return;
  }
  read_role_ = ReadRole::kFree;
  *role_released = true;
}

bool DaemonConnection::Deliver(v1::Result& result, bool on_reader_thread,
                               uint64_t own_id, std::optional<TaskResult>* own,
                               bool* role_released) {
  const uint64_t id = result.id();
  Pending pending;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    // An unknown id can only be a daemon bug; nothing waits on it.
    if (it == pending_.end()) return false;
    if (!on_reader_thread && id != own_id && !it->second.any_thread) {
      // A callback: it runs on the reader thread, whoever read its result.
      handed_to_reader_.push_back(std::move(result));
      reader_wake_.notify_one();
      return false;
    }
    pending = std::move(it->second);
    pending_.erase(it);
    ReleaseIfIdle(role_released);
  }
  if (pending.arena_range) TakeArenaOutput(*pending.arena_range, result);
  if (own != nullptr && id == own_id) {
    *own = FromWireResult(std::move(result));
  } else if (pending.chunk_callback != nullptr) {
    (*pending.chunk_callback)(pending.position, ChunkResults{pending.items, std::move(result)});
  } else {
    (*pending.callback)(pending.position, FromWireResult(std::move(result)));
  }
  return true;
}

void DaemonConnection::TakeArenaOutput(ClientArena::Range range, v1::Result& result) {
  if (result.has_output_in_arena()) {
    const v1::ArenaRange& output = result.output_in_arena();
    // Only inside the task's own range: anything else is a daemon bug, and
    // reading there could hand over another task's bytes.
    if (output.offset() >= range.offset && output.size() <= range.size &&
        output.offset() - range.offset <= range.size - output.size()) {
      result.mutable_output()->assign(arena_->at(output.offset()), output.size());
    } else {
      result.set_code(v1::INTERNAL);
      result.set_error("taskpoold placed the output outside the task's range of the payload arena");
    }
  }
  arena_->Free(range);
}

void DaemonConnection::AnswerRequest(const v1::ServerMessage& message,
                                     bool* role_released) {
  std::shared_ptr<ReplyPromise> waiter;
  {
    std::lock_guard lock(mutex_);
    if (replies_.empty()) return;  // unsolicited; nobody to tell
    waiter = std::move(replies_.front());
    replies_.pop_front();
    ReleaseIfIdle(role_released);
  }
  waiter->set_value(message);
}

}  // namespace taskpool::client
