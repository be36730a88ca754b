#include "taskpool/status.hpp"

#include <cstring>

namespace taskpool {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "OK";
    case ErrorCode::kTaskFailed: return "TASK_FAILED";
    case ErrorCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::kUnknownFunction: return "UNKNOWN_FUNCTION";
    case ErrorCode::kPayloadTooLarge: return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kWorkerDied: return "WORKER_DIED";
    case ErrorCode::kTimeout: return "TIMEOUT";
    case ErrorCode::kExpired: return "EXPIRED";
    case ErrorCode::kCancelled: return "CANCELLED";
    case ErrorCode::kQueueFull: return "QUEUE_FULL";
    case ErrorCode::kShuttingDown: return "SHUTTING_DOWN";
    case ErrorCode::kDuplicateId: return "DUPLICATE_ID";
    case ErrorCode::kVersionMismatch: return "VERSION_MISMATCH";
    case ErrorCode::kMalformedFrame: return "MALFORMED_FRAME";
    case ErrorCode::kFrameTooLarge: return "FRAME_TOO_LARGE";
    case ErrorCode::kProtocolViolation: return "PROTOCOL_VIOLATION";
    case ErrorCode::kTooManyConnections: return "TOO_MANY_CONNECTIONS";
    case ErrorCode::kIdleTimeout: return "IDLE_TIMEOUT";
    case ErrorCode::kPermissionDenied: return "PERMISSION_DENIED";
    case ErrorCode::kInternal: return "INTERNAL";
    case ErrorCode::kDaemonNotRunning: return "DAEMON_NOT_RUNNING";
    case ErrorCode::kConnectionLost: return "CONNECTION_LOST";
    case ErrorCode::kWaitTimeout: return "WAIT_TIMEOUT";
  }
  return "INTERNAL";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(ErrorCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status ErrnoStatus(std::string_view what, int errno_value, ErrorCode code) {
  std::string message(what);
  message += ": ";
  message += std::strerror(errno_value);
  return Status(code, std::move(message));
}

}  // namespace taskpool
