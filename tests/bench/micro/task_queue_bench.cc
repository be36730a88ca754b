// One task's trip through the shared-memory queue, in one process acting as
// both supervisor and worker 0 (a SupervisorQueue and a WorkerQueue over
// one mapping): Enqueue, TryClaim, Complete, CollectCompleted. No process switch is involved, so this is the queue's
// own cost (atomics, eventfd writes and reads, payload copies).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <string>

#include "shmq/supervisor_queue.h"
#include "shmq/worker_queue.h"

namespace taskpool::shmq {
namespace {

void BM_QueueCycle(benchmark::State& state) {
  QueueGeometry geometry;
  geometry.capacity = 64;
  geometry.max_workers = 1;
  auto queue = SupervisorQueue::Create(geometry);
  if (!queue.ok()) {
    state.SkipWithError(queue.status().ToString().c_str());
    return;
  }
  SupervisorQueue& q = **queue;
  WorkerQueue worker(q.segment(), 0, getpid());
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  size_t collected = 0;
  for (auto _ : state) {
    auto slot = q.Enqueue(0, payload);
    if (!slot.ok()) {
      state.SkipWithError(slot.status().ToString().c_str());
      break;
    }
    auto task = worker.TryClaim();
    if (!task) {
      state.SkipWithError("nothing to claim");
      break;
    }
    worker.Complete(*task, ErrorCode::kOk, task->input);
    collected += q.CollectCompleted([](const CompletedTask& done) {
      benchmark::DoNotOptimize(done.output.data());
    });
  }
  if (collected != static_cast<size_t>(state.iterations())) {
    state.SkipWithError("lost a task");
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_QueueCycle)->Arg(1)->Arg(1024)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace taskpool::shmq
