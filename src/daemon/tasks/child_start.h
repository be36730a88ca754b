// Starting an external command for the `exec` task function: everything
// between fork and exec (its own process group, death with the worker,
// default signals, only its three pipes), and what a failure there means.
// child_process.h runs the started command to the end.
//
// Thread-safety: forks; call only from a single-threaded process (a
// worker).
#pragma once

#include <sys/types.h>

#include "base/unique_fd.h"
#include "daemon/tasks/child_process.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// A command that has exec'd: the caller must reap `pid`.
struct StartedChild {
  pid_t pid = 0;
  base::UniqueFd stdin_write;  // the command's stdin
  base::UniqueFd stdout_read;  // its stdout
  base::UniqueFd stderr_read;  // its stderr
};

// Forks and execs `command` (see RunChild for the errors), returning once
// exec succeeded; a command that could not be started is reaped already.
Result<StartedChild> StartChild(const ChildCommand& command);

}  // namespace taskpool::daemon
