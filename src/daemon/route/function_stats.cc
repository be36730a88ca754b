#include "daemon/route/function_stats.h"

#include <algorithm>

#include "daemon/tasks/task_registry.h"
#include "wire/error_code.h"
#include "wire/latency_buckets.h"

namespace taskpool::daemon {

namespace {

void FillLatency(const LatencyHistogram& histogram, v1::LatencySummary* out) {
  out->set_count(histogram.count());
  out->set_sum_us(histogram.sum());
  out->set_p50_us(histogram.Percentile(0.50));
  out->set_p90_us(histogram.Percentile(0.90));
  out->set_p99_us(histogram.Percentile(0.99));
  out->set_max_us(histogram.max());
  if (histogram.count() == 0) return;
  for (const uint64_t count : histogram.CountsUpTo(wire::kLatencyBucketBoundsUs)) {
    out->add_bucket_counts(count);
  }
}

}  // namespace

FunctionStats::FunctionStats(size_t function_count)
    : entries_(function_count) {}

FunctionStats::Entry* FunctionStats::EntryFor(uint32_t function) {
  if (function >= entries_.size()) return nullptr;
  std::unique_ptr<Entry>& entry = entries_[function];
  if (entry == nullptr) entry = std::make_unique<Entry>();
  return entry.get();
}

void FunctionStats::OnSubmitted(uint32_t function, uint64_t tasks) {
  if (Entry* entry = EntryFor(function)) entry->outcomes.OnSubmitted(tasks);
}

void FunctionStats::OnFinished(uint32_t function, ErrorCode code, uint64_t tasks,
                               CancelReason reason) {
  if (Entry* entry = EntryFor(function)) entry->outcomes.OnFinished(code, tasks, reason);
}

void FunctionStats::OnRan(uint32_t function, uint64_t queue_us,
                          uint64_t run_us) {
  Entry* entry = EntryFor(function);
  if (entry == nullptr) return;
  entry->queue_wait.Record(queue_us);
  entry->run_time.Record(run_us);
}

void FunctionStats::Fill(
    const TaskRegistry& registry,
    google::protobuf::RepeatedPtrField<v1::FunctionStatus>* out) const {
  const int first = out->size();
  for (uint32_t function = 0; function < entries_.size(); ++function) {
    const Entry* entry = entries_[function].get();
    if (entry == nullptr) continue;
    v1::FunctionStatus* status = out->Add();
    status->set_name(registry.name(function));
    const OutcomeCounts& outcomes = entry->outcomes;
    status->set_submitted(outcomes.submitted);
    status->set_succeeded(outcomes.succeeded);
    for (const auto& [code, count] : outcomes.failed) {
      v1::ErrorCount* failed = status->add_failed();
      failed->set_code(wire::ToWireCode(code));
      failed->set_count(count);
    }
    status->set_cancelled(outcomes.cancelled_total());
    FillCancelCounts(outcomes, /*with_zeros=*/false, status->mutable_cancelled_by_reason());
    status->set_in_flight(outcomes.in_flight());
    FillLatency(entry->queue_wait, status->mutable_queue_wait());
    FillLatency(entry->run_time, status->mutable_run_time());
  }
  std::sort(out->begin() + first, out->end(),
            [](const v1::FunctionStatus& a, const v1::FunctionStatus& b) {
              return a.name() < b.name();
            });
}

}  // namespace taskpool::daemon
