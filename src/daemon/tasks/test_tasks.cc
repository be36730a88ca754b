#include "daemon/tasks/test_tasks.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "daemon/tasks/builtins.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

namespace {

using builtins::ParseDecimalU64;
using builtins::QuoteForMessage;

// Bytes the `oom` crash may map beyond what the worker already has.
constexpr rlim_t kOomHeadroom = rlim_t{64} << 20;
// Never touch more than this, whatever the limit allows (under a
// sanitizer the address space is huge and the limit does not bite).
constexpr size_t kOomMaxBlocks = 256;  // x 4 MiB = 1 GiB

[[noreturn]] void RunOutOfMemory() {
  rlimit limit {};
  getrlimit(RLIMIT_AS, &limit);
  // Cap the address space near the current size so the failure comes fast
  // and harms nobody else on the machine.
  long pages = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
    std::fclose(statm);
  }
  limit.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) +
                   kOomHeadroom;
  setrlimit(RLIMIT_AS, &limit);
  std::vector<char*> blocks;
  while (blocks.size() < kOomMaxBlocks) {
    char* block = static_cast<char*>(std::malloc(4 << 20));
    if (block == nullptr) break;
    std::memset(block, 1, 4 << 20);
    blocks.push_back(block);
  }
  // What the OOM killer would do now.
  raise(SIGKILL);
  _exit(137);
}

TaskOutcome Crash(std::string_view how) {
  if (how == "segv") {
    // An unmapped, aligned, non-null address: a real SIGSEGV, not a null
    // dereference that UndefinedBehaviorSanitizer would stop first.
    // Read through a volatile so the compiler cannot see the address.
    static volatile uintptr_t unmapped_address = 16;
    volatile int* invalid = reinterpret_cast<volatile int*>(unmapped_address);
    *invalid = 1;
  } else if (how == "abort") {
    std::abort();
  } else if (how == "exit") {
    std::exit(3);
  } else if (how == "oom") {
    RunOutOfMemory();
  }
  return TaskOutcome::Error(ErrorCode::kInvalidArgument,
                            "crash expects segv, abort, exit or oom, not " +
                                QuoteForMessage(how));
}

TaskOutcome Allocate(std::string_view payload) {
  const std::optional<uint64_t> mib = ParseDecimalU64(payload);
  if (!mib || *mib > 65536) {
    return TaskOutcome::Error(ErrorCode::kInvalidArgument,
                              "alloc expects a size in MiB from 0 to 65536, not " +
                                  QuoteForMessage(payload));
  }
  const size_t bytes = static_cast<size_t>(*mib) << 20;
  char* leak = static_cast<char*>(std::malloc(bytes));
  if (leak == nullptr && bytes != 0) {
    // TaskRegistry::Run words it with the worker's limit.
    return TaskOutcome::Error(ErrorCode::kOutOfMemory,
                              "cannot allocate " + std::to_string(*mib) + " MiB");
  }
  // Touch every page so the memory is resident, then keep it on purpose.
  for (size_t offset = 0; offset < bytes; offset += 4096) leak[offset] = 1;
  return TaskOutcome::Ok("allocated " + std::to_string(*mib) + " MiB");
}

}  // namespace

void RegisterTestTasks(TaskRegistry& registry) {
  // As RegisterBuiltins: distinct non-empty names, so a failure means the
  // name was taken before this call, and the earlier function stands.
  registry.Register("crash", Crash).IgnoreError();
  registry.Register("alloc", Allocate).IgnoreError();
}

}  // namespace taskpool::daemon
