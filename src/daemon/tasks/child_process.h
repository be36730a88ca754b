// Runs one external command to completion from a worker: the OS half of
// the `exec` task function (daemon/exec_task.h holds the protocol half).
//
// The command gets its own process group, dies with the calling process
// (PR_SET_PDEATHSIG), starts with default signal dispositions and an empty
// signal mask, and inherits no descriptor but its three pipes. Its stdin is
// fed and its stdout and stderr are read in one poll(2) loop, so no pipe can
// fill up and deadlock either side. When the command exits, whatever it left
// running in its process group is killed, so a background process holding a
// pipe cannot keep the task from finishing, and then every process the
// job left anywhere under the worker (job_processes.h). Always reaped
// before return.
//
// Thread-safety: forks; call only from a single-threaded process (a
// worker), and never concurrently with itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

struct ChildCommand {
  // argv[0] is looked up on the PATH found in `env` (else /bin:/usr/bin)
  // unless it contains a '/'.
  // REQUIRES: not empty; no string here or below contains a NUL byte.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the complete environment, "NAME=value"
  std::string cwd;               // empty: the caller's
  std::string stdin_data;        // written to stdin, which is then closed
  // Past it the process group gets SIGTERM, then SIGKILL after
  // kTerminateGrace. 0: no limit.
  std::chrono::milliseconds timeout{0};
  size_t max_output_bytes = 0;  // kept of stdout and of stderr, each
  // Polled while the command runs (every kCancelPollInterval); once true
  // the process group is stopped as on a timeout. Empty: never.
  std::function<bool()> cancelled;
};

struct ChildOutcome {
  int exit_code = 0;  // exit status, or 128 + signal when killed
  int signal = 0;     // the signal that killed it; 0 if it exited
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  bool timed_out = false;
  bool cancelled = false;  // stopped because `cancelled` turned true
  std::chrono::milliseconds duration{0};
};

// Between SIGTERM and SIGKILL after a timeout or a cancellation.
inline constexpr std::chrono::milliseconds kTerminateGrace{1000};
// How often a running command's `cancelled` is asked.
inline constexpr std::chrono::milliseconds kCancelPollInterval{100};

// Runs `command` and waits for it. TASK_FAILED when it cannot be started,
// naming the command (or directory) and the system's reason: "cannot run
// 'gzipp': No such file or directory (searched PATH=/usr/bin:/bin)";
// INTERNAL when pipes or fork fail.
Result<ChildOutcome> RunChild(const ChildCommand& command);

}  // namespace taskpool::daemon
