// The one list that ties taskpool::ErrorCode (include/taskpool/status.hpp,
// the public API, which must not include protobuf) to taskpool.v1.ErrorCode
// (proto/taskpool/v1/taskpool.proto, the wire). Each entry is
// X(enumerator, WIRE_NAME). The code built from it checks, at compile time,
// that the two enums cannot drift apart:
//   - src/wire/error_code.cc spells each WIRE_NAME as v1::WIRE_NAME, so a
//     name the proto lacks does not compile; static_asserts that both
//     enumerators have the same value; and switches over v1::ErrorCode and
//     taskpool::ErrorCode with -Wswitch as an error, so a value added to
//     either enum but missing here does not compile.
//   - src/base/status.cc builds ErrorCodeName from the same entries, so the
//     names are the proto's own (#WIRE_NAME).
// To add a code: add it to the proto, to the public enum, and here.
#pragma once

// Codes that travel on the wire, in the proto's order.
#define TASKPOOL_WIRE_ERROR_CODES(X)                 \
  X(kOk, OK)                                         \
  X(kTaskFailed, TASK_FAILED)                        \
  X(kInvalidArgument, INVALID_ARGUMENT)              \
  X(kUnknownFunction, UNKNOWN_FUNCTION)              \
  X(kPayloadTooLarge, PAYLOAD_TOO_LARGE)             \
  X(kWorkerDied, WORKER_DIED)                        \
  X(kTimeout, TIMEOUT)                               \
  X(kExpired, EXPIRED)                               \
  X(kCancelled, CANCELLED)                           \
  X(kQueueFull, QUEUE_FULL)                          \
  X(kShuttingDown, SHUTTING_DOWN)                    \
  X(kDuplicateId, DUPLICATE_ID)                      \
  X(kSharedMemoryFull, SHARED_MEMORY_FULL)           \
  X(kOutOfMemory, OUT_OF_MEMORY)                     \
  X(kVersionMismatch, VERSION_MISMATCH)              \
  X(kMalformedFrame, MALFORMED_FRAME)                \
  X(kFrameTooLarge, FRAME_TOO_LARGE)                 \
  X(kProtocolViolation, PROTOCOL_VIOLATION)          \
  X(kTooManyConnections, TOO_MANY_CONNECTIONS)       \
  X(kIdleTimeout, IDLE_TIMEOUT)                      \
  X(kPermissionDenied, PERMISSION_DENIED)            \
  X(kInternal, INTERNAL)

// Codes that arise only inside the client library and never travel; their
// names follow the wire's style.
#define TASKPOOL_CLIENT_ERROR_CODES(X)      \
  X(kDaemonNotRunning, DAEMON_NOT_RUNNING)  \
  X(kConnectionLost, CONNECTION_LOST)       \
  X(kWaitTimeout, WAIT_TIMEOUT)
