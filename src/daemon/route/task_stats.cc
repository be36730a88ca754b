#include "daemon/route/task_stats.h"

#include "wire/chunk_wire.h"

namespace taskpool::daemon {

void TaskStats::OnSubmitted(uint32_t function, uint64_t tasks) {
  counters_.submitted += tasks;
  functions_.OnSubmitted(function, tasks);
}

void TaskStats::OnFinished(uint32_t function, ErrorCode code, uint64_t tasks) {
  functions_.OnFinished(function, code, tasks);
  if (code == ErrorCode::kOk) {
    counters_.succeeded += tasks;
  } else {
    counters_.failed += tasks;
  }
}

void TaskStats::OnRan(uint32_t function, uint64_t queue_us, uint64_t run_us) {
  functions_.OnRan(function, queue_us, run_us);
}

Status TaskStats::OnChunkRan(uint32_t function, std::string_view output, uint64_t queue_us) {
  const Result<uint32_t> read =
      wire::ForEachItemResult(output, [&](const wire::ItemResultView& item) {
        OnRan(function, queue_us, item.run_us);
        OnFinished(function, item.code, 1);
      });
  return read.ok() ? Status::Ok() : read.status();
}

}  // namespace taskpool::daemon
