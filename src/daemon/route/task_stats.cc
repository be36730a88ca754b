#include "daemon/route/task_stats.h"

#include "wire/chunk_wire.h"

namespace taskpool::daemon {

void TaskStats::OnSubmitted(uint32_t function, uint64_t tasks) {
  counters_.OnSubmitted(tasks);
  functions_.OnSubmitted(function, tasks);
}

void TaskStats::OnFinished(uint32_t function, ErrorCode code, uint64_t tasks,
                           CancelReason reason) {
  functions_.OnFinished(function, code, tasks, reason);
  counters_.OnFinished(code, tasks, reason);
}

void TaskStats::FillTotals(v1::StatusReply* status) const {
  status->set_tasks_submitted(counters_.submitted);
  status->set_tasks_succeeded(counters_.succeeded);
  status->set_tasks_failed(counters_.failed_total());
  status->set_tasks_cancelled(counters_.cancelled_total());
  FillCancelCounts(counters_, /*with_zeros=*/true, status->mutable_tasks_cancelled_by_reason());
  status->set_tasks_in_flight(counters_.in_flight());
}

void TaskStats::OnRan(uint32_t function, uint64_t queue_us, uint64_t run_us) {
  functions_.OnRan(function, queue_us, run_us);
}

Status TaskStats::OnChunkRan(uint32_t function, std::string_view output, uint64_t queue_us,
                             CancelReason reason) {
  const Result<uint32_t> read =
      wire::ForEachItemResult(output, [&](const wire::ItemResultView& item) {
        OnRan(function, queue_us, item.run_us);
        OnFinished(function, item.code, 1, reason);
      });
  return read.ok() ? Status::Ok() : read.status();
}

}  // namespace taskpool::daemon
