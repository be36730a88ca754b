// The `exec` task function (shell jobs): runs a command in a worker and
// answers with its exit status, stdout and stderr. The payloads are
// taskpool.v1.ExecRequest / ExecResponse (proto/taskpool/v1/exec.proto,
// which also documents the error codes).
//
// Off unless taskpoold runs with --enable-exec: every peer the access policy
// admits could otherwise run any command as the daemon's user.
//
// Thread-safety: ExecTask forks (see daemon/child_process.h); it runs in a
// single-threaded worker.
#pragma once

#include <cstdint>
#include <string_view>

#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

// The answer to a submission for `exec` while it is off (PERMISSION_DENIED).
inline constexpr char kExecDisabledMessage[] =
    "exec is disabled on this daemon; start taskpoold with --enable-exec "
    "(or `enable-exec = true` in its config file; see README: Shell jobs)";

// Cap on each of stdout and stderr when the request names none.
inline constexpr uint64_t kDefaultExecOutputCap = 1 << 20;

// The per-stream cap for a request asking for `requested` bytes (0: the
// default) on a daemon whose results may hold `max_payload_bytes`: never so
// large that both streams and the rest of the response would not fit.
uint64_t ExecOutputCap(uint64_t requested, uint64_t max_payload_bytes);

// Runs the serialized ExecRequest in `payload`; the output is a serialized
// ExecResponse. Once `context.cancelled()` turns true (the client
// cancelled the task or went away) the command is stopped like on a
// timeout and the task ends CANCELLED.
TaskOutcome ExecTask(std::string_view payload, uint64_t max_payload_bytes,
                     const TaskContext& context = {});

// Registers `exec` if `enabled`, else makes the registry refuse it with
// kExecDisabledMessage.
void RegisterExec(TaskRegistry& registry, bool enabled, uint64_t max_payload_bytes);

}  // namespace taskpool::daemon
