// The body of a worker process: claim a task, run it, publish the result,
// forever. Workers never touch sockets; they see only the shared-memory
// queue and the function registry they inherited at fork.
#pragma once

#include <cstdint>

namespace taskpool {

class TaskQueue;
class TaskRegistry;

// Exit status of a worker that cannot run at all (e.g. it could not set
// itself up after fork). The supervisor does not respawn such a worker in a
// loop.
inline constexpr int kWorkerFatalExitCode = 70;  // EX_SOFTWARE

// Prepares the freshly forked process (signals, file descriptors, parent
// death signal) and runs the worker loop. Never returns.
// REQUIRES: called in the child right after fork().
[[noreturn]] void RunWorker(TaskQueue& queue, const TaskRegistry& registry,
                            uint32_t worker_index);

}  // namespace taskpool
