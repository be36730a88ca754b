// What a worker adds to each task for its process title: the busy title
// before the task and the idle one after (WorkerTitle in worker_main.cc),
// against the task queue cycle of task_queue_bench.cc that it rides on.
#include <benchmark/benchmark.h>

#include <cstring>

#include <string>
#include <vector>

#include "daemon/pool/process_title.h"

namespace {

// A command line and environment laid out back to back, as the kernel
// lays them out for a new process.
class FakeArguments {
 public:
  FakeArguments() {
    const std::string strings[] = {"taskpoold", "--socket", "/run/taskpool/taskpoold.sock",
                                   "--config", "/etc/taskpool/taskpoold.conf"};
    for (const std::string& s : strings) area_ += s + '\0';
    for (char* at = area_.data(); at < area_.data() + area_.size(); at += std::strlen(at) + 1) {
      argv_.push_back(at);
    }
  }
  int argc() const { return static_cast<int>(argv_.size()); }
  char** argv() { return argv_.data(); }

 private:
  std::string area_;
  std::vector<char*> argv_;
};

void BM_WorkerTitlePerTask(benchmark::State& state) {
  static FakeArguments arguments;
  taskpool::daemon::InitProcessTitle(arguments.argc(), arguments.argv());
  const std::string busy = "taskpoold: worker 3 (busy is_prime)";
  const std::string idle = "taskpoold: worker 3 (idle)";
  for (auto _ : state) {
    taskpool::daemon::SetProcessTitle(busy);
    taskpool::daemon::SetProcessTitle(idle);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WorkerTitlePerTask);

}  // namespace
