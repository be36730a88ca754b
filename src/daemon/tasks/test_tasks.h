// Task functions that misbehave on purpose, for testing how the pool
// survives them. Registered only with `taskpoold --enable-test-tasks`.
//
//   crash segv   dereferences an invalid pointer (SIGSEGV)
//   crash abort  calls abort() (SIGABRT)
//   crash exit   calls exit(3) from task code
//   crash oom    exhausts a 64 MiB address-space limit, then dies the way
//                the kernel's OOM killer kills (SIGKILL)
//   alloc N      allocates and touches N MiB and keeps it (a leak), to
//                exercise --max-worker-rss-mib; past
//                --worker-memory-limit-mib it ends OUT_OF_MEMORY
#pragma once

namespace taskpool::daemon {

class TaskRegistry;

void RegisterTestTasks(TaskRegistry& registry);

}  // namespace taskpool::daemon
