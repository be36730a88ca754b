// The body of a worker process: claim a task, run it, publish the result,
// forever. Workers never touch sockets; they see only the shared-memory
// queue and the function registry they inherited at fork.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace taskpool::shmq {
class Segment;
}  // namespace taskpool::shmq

namespace taskpool::daemon {
class TaskRegistry;

// Exit status of a worker that cannot run at all (e.g. it could not set
// itself up after fork). The supervisor does not respawn such a worker in a
// loop.
inline constexpr int kWorkerFatalExitCode = 70;  // EX_SOFTWARE

// Exit statuses of a worker that retired itself between tasks because it
// reached --max-tasks-per-worker, or --max-worker-rss-mib. The supervisor
// counts them as planned replacements, not deaths.
inline constexpr int kWorkerRecycledExitCode = 75;     // EX_TEMPFAIL: max tasks
inline constexpr int kWorkerRecycledRssExitCode = 76;  // max RSS
// Exit status of a worker whose task ran out of memory under
// --worker-memory-limit-mib (the task ended OUT_OF_MEMORY): replaced too.
inline constexpr int kWorkerOutOfMemoryExitCode = 77;

// Where a worker sits in the queue (index) and in the pool (number, what
// its process title shows; see WorkerEntry).
struct WorkerIdentity {
  uint32_t index = 0;
  uint32_t number = 0;
};

// When a worker replaces itself (0: never), and its RLIMIT_DATA in MiB
// (0: none; see tasks/memory_limit.h).
struct WorkerLimits {
  uint64_t max_tasks = 0;
  uint64_t max_rss_mib = 0;
  uint64_t memory_limit_mib = 0;
};

// Prepares the freshly forked process (signals, file descriptors, parent
// death signal), attaches it to the queue's `segment` as worker
// `worker_index` (a shmq::WorkerQueue: a worker has no supervisor
// operation) and runs the worker loop. Never returns.
//
// SIGTERM asks a worker to retire: it is blocked while a task runs and
// acts only while the worker waits for work, so a retiring worker always
// finishes its task first. SIGKILL is the only way to stop a task.
// `supervisor` is the forking process's pid, read before fork(): read in
// the child, getppid() would already name init if the supervisor died in
// between, and the worker would outlive it.
// REQUIRES: called in the child right after fork().
// The process title says "taskpoold: worker N (idle)" or "(busy FN)".
[[noreturn]] void RunWorker(const shmq::Segment& segment, const TaskRegistry& registry,
                            WorkerIdentity identity, const WorkerLimits& limits,
                            pid_t supervisor);

}  // namespace taskpool::daemon
