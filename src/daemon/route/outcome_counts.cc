#include "daemon/route/outcome_counts.h"

#include <numeric>
#include <string>

namespace taskpool::daemon {

void OutcomeCounts::OnFinished(ErrorCode code, uint64_t tasks, CancelReason reason) {
  if (code == ErrorCode::kOk) {
    succeeded += tasks;
  } else if (code == ErrorCode::kCancelled) {
    cancelled[static_cast<size_t>(reason)] += tasks;
  } else {
    failed[code] += tasks;
  }
}

uint64_t OutcomeCounts::failed_total() const {
  uint64_t total = 0;
  for (const auto& [code, count] : failed) total += count;
  return total;
}

uint64_t OutcomeCounts::cancelled_total() const {
  return std::accumulate(cancelled.begin(), cancelled.end(), uint64_t{0});
}

void FillCancelCounts(const OutcomeCounts& counts, bool with_zeros,
                      google::protobuf::RepeatedPtrField<v1::CancelCount>* out) {
  for (const CancelReason reason : kCancelReasons) {
    const uint64_t count = counts.cancelled_for(reason);
    if (count == 0 && !with_zeros) continue;
    v1::CancelCount* entry = out->Add();
    entry->set_reason(std::string(CancelReasonName(reason)));
    entry->set_count(count);
  }
}

}  // namespace taskpool::daemon
