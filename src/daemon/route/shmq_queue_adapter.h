// The TaskQueuePort over the shared-memory queue: the one file of the
// router that knows shmq's types. It converts references, limits and
// timestamps (shmq's integers to std::chrono) and forwards every call.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include "daemon/route/task_queue_port.h"
#include "shmq/supervisor_queue.h"

namespace taskpool::daemon {

class ShmqQueueAdapter final : public TaskQueuePort {
 public:
  // `queue` must outlive the adapter.
  explicit ShmqQueueAdapter(shmq::SupervisorQueue& queue) : queue_(queue) {}

  uint32_t capacity() const override;
  Result<TaskSlot> Enqueue(uint32_t function_index, std::string_view input, const RunLimits& limits,
                           bool chunk) override;
  Result<TaskSlot> EnqueueFromArena(uint32_t function_index, const ArenaSlice& input,
                                    const RunLimits& limits) override;
  Result<TaskSlot> Requeue(TaskSlot slot, uint32_t attempt) override;
  bool TryWithdraw(TaskSlot slot) override;
  void Release(TaskSlot slot) override;
  size_t CollectCompleted(const FinishedCallback& on_done) override;
  std::vector<TaskSlot> RecoverDeadWorker(uint32_t worker) override;
  std::optional<uint32_t> RunningWorker(TaskSlot slot) const override;
  bool RequestCancel(TaskSlot slot) override;
  WorkerRun activity(uint32_t worker) const override;

 private:
  shmq::SupervisorQueue& queue_;
};

}  // namespace taskpool::daemon
