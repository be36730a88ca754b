// Errors as values: Status (ok or a code and a message) and Result<T>
// (a value or a Status). Used across every module boundary in taskpool and
// in the public client API.
//
// Thread-safety: these are plain values; distinct objects may be used from
// distinct threads freely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace taskpool {

// The closed list of outcomes. Values 0..30 are taskpool.v1.ErrorCode's on
// the wire, name for name and value for value (the build checks that they
// agree: src/base/error_code_list.h); values from 100 up arise only inside
// the client library.
enum class ErrorCode : int {
  kOk = 0,
  kTaskFailed = 1,          // the function reported failure
  kInvalidArgument = 2,     // the payload is not valid input for the function
  kUnknownFunction = 3,     // no such function registered
  kPayloadTooLarge = 4,     // payload or output above the daemon's limit
  kWorkerDied = 5,          // the worker running the task died
  kTimeout = 6,             // the task ran past its timeout and was killed
  kExpired = 7,             // the deadline passed while the task was queued
  kCancelled = 8,           // cancelled by the client or by shutdown
  kQueueFull = 9,           // queue full and the submission asked to fail fast
  kShuttingDown = 10,       // the daemon accepts no new tasks
  kDuplicateId = 11,        // task id already in flight on this connection
  kSharedMemoryFull = 12,   // no room in /dev/shm for the task's payload
  kOutOfMemory = 13,        // the task allocated past the worker's memory limit
  kVersionMismatch = 20,    // client and daemon speak different protocols
  kMalformedFrame = 21,     // bytes on the socket are not a valid frame
  kFrameTooLarge = 22,      // a frame above the size limit
  kProtocolViolation = 23,  // e.g. a message before hello
  kTooManyConnections = 24,
  // 25 is reserved (TOO_MANY_IN_FLIGHT, never sent).
  kIdleTimeout = 26,        // the daemon closed an idle connection
  kPermissionDenied = 27,   // the peer's uid/groups are not allowed
  kInternal = 30,           // a bug in taskpool
  // Client-side only.
  kDaemonNotRunning = 100,  // nothing listens on the socket
  kConnectionLost = 101,    // the daemon went away while a call was pending
  kWaitTimeout = 102,       // the caller's wait timed out; the task may still run
};

// "TASK_FAILED", "WORKER_DIED", ... (the wire names).
std::string_view ErrorCodeName(ErrorCode code);

// [[nodiscard]]: an error dropped on the floor is a bug. Where ignoring one
// is right, say why and call IgnoreError().
class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "WORKER_DIED: worker 1234 killed by SIGKILL", or "OK".
  std::string ToString() const;

  // Explicitly drops this status; next to it, a comment says why that is
  // safe.
  void IgnoreError() const {}

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Turns errno into a Status naming the failed call:
// ErrnoStatus("bind /run/x.sock") -> "INTERNAL: bind /run/x.sock: Permission denied".
Status ErrnoStatus(std::string_view what, int errno_value,
                   ErrorCode code = ErrorCode::kInternal);

// A value or the Status that explains why there is none. [[nodiscard]] as
// Status is.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : storage_(std::move(status)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(storage_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(storage_); }
  const T& value() const& { return std::get<T>(storage_); }
  T&& value() && { return std::get<T>(std::move(storage_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Ok() when ok(), otherwise the error.
  Status status() const {
    return ok() ? Status::Ok() : std::get<Status>(storage_);
  }

  // As Status::IgnoreError: drops the value or the error, on purpose.
  void IgnoreError() const {}

 private:
  std::variant<T, Status> storage_;
};

}  // namespace taskpool
