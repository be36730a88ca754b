#include "daemon/tasks/memory_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <string>
#include <utility>

#include "base/proc_status.h"
#include "base/text_file.h"

namespace taskpool::daemon {

namespace {

// Set once per worker, before any task runs (see the header).
uint64_t limit_mib = 0;
bool ran_out = false;

}  // namespace

std::optional<uint64_t> DataSizeMib() {
  const std::optional<std::string> text = base::ReadTextFile("/proc/self/status");
  const std::optional<uint64_t> kib = text ? base::StatusFieldKib(*text, "VmData") : std::nullopt;
  if (!kib) return std::nullopt;
  return (*kib + 1023) / 1024;
}

Status ApplyWorkerMemoryLimit(uint64_t mib) {
  if (mib == 0) return Status::Ok();
  // Below what the worker holds already, every allocation would fail.
  if (const std::optional<uint64_t> used = DataSizeMib(); used && *used >= mib) {
    return Status(ErrorCode::kInvalidArgument,
                  "--worker-memory-limit-mib " + std::to_string(mib) +
                      " is not above what a worker uses before running any task (" +
                      std::to_string(*used) + " MiB of data, VmData in /proc/PID/status)");
  }
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(mib) << 20;
  if (setrlimit(RLIMIT_DATA, &limit) != 0) {
    return ErrnoStatus("setrlimit(RLIMIT_DATA, " + std::to_string(mib) + " MiB)", errno);
  }
  limit_mib = mib;
  return Status::Ok();
}

uint64_t WorkerMemoryLimitMib() { return limit_mib; }

bool RanOutOfMemory() { return std::exchange(ran_out, false); }

TaskOutcome OutOfMemory(std::string_view detail) {
  ran_out = true;
  std::string message = "out of memory";
  if (limit_mib != 0) message += ": limit " + std::to_string(limit_mib) + " MiB";
  if (!detail.empty()) message += " (" + std::string(detail) + ")";
  return TaskOutcome::Error(ErrorCode::kOutOfMemory, std::move(message));
}

}  // namespace taskpool::daemon
