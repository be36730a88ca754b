// --worker-memory-limit-mib inside a worker: the limit itself, and what a
// task that runs into it is told.
//
// The limit is RLIMIT_DATA, not RLIMIT_AS. RLIMIT_DATA (Linux 4.7 and
// later) counts a process's private writable memory: heap, anonymous
// mappings, what malloc and new take. RLIMIT_AS counts every mapping, so it
// would also charge the worker for the queue's shared-memory segment
// (32 MiB with the default geometry, up to 16 GiB; the same pages for every
// worker), for the shared libraries and for address space reserved but
// never touched; a limit in MiB would then mean something different with
// every --queue-capacity. Either way the limit counts what the worker
// inherited from the supervisor at fork, a few MiB.
//
// Past the limit, malloc returns null and new throws std::bad_alloc. Both
// become OUT_OF_MEMORY with "out of memory: limit N MiB" (TaskRegistry::Run
// for exceptions, the plugin SDK for plugins, test_tasks' `alloc`), and the
// worker exits after reporting it, to be replaced by a fresh one: code that
// ran out of memory half-way may have left the process in a bad state.
//
// Thread-safety: ApplyWorkerMemoryLimit once, in a worker right after fork,
// before it runs anything; the rest reads what it set.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "daemon/tasks/task_registry.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// Sets RLIMIT_DATA to `mib` MiB (0: leaves it alone). Fails, saying so in
// words, when the worker already uses that much before running any task
// (then it could run nothing), or when setrlimit fails.
Status ApplyWorkerMemoryLimit(uint64_t mib);

// The limit ApplyWorkerMemoryLimit set in this process; 0: none.
uint64_t WorkerMemoryLimitMib();

// OUT_OF_MEMORY, "out of memory: limit N MiB (detail)", or without a limit
// "out of memory (detail)"; `detail` may be empty. Notes that memory ran
// out in this process (RanOutOfMemory).
TaskOutcome OutOfMemory(std::string_view detail);

// Whether OutOfMemory was called since the last call of this (in a chunk:
// for any of its items): the worker then makes way for a fresh process.
bool RanOutOfMemory();

// The data segment size (VmData of /proc/self/status) in MiB.
std::optional<uint64_t> DataSizeMib();

}  // namespace taskpool::daemon
