// A client process for the chaos and flood tests: pipelines N echo tasks
// on one connection as fast as the daemon takes them, and checks that
// every task got exactly one terminal result.
//
//   flood_client SOCKET COUNT MAX_RETRIES [CHUNKSIZE]
//
// With CHUNKSIZE above 1 the tasks go as chunks through imap_unordered
// instead of one submit() each.
//
// Prints "ok=A died=B other=C duplicates=D missing=E" and exits 0 when
// every task has exactly one result and each is OK or WORKER_DIED.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "taskpool/client.hpp"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: flood_client SOCKET COUNT MAX_RETRIES [CHUNKSIZE]\n");
    return 2;
  }
  const size_t chunksize = argc == 5 ? std::strtoull(argv[4], nullptr, 10) : 1;
  taskpool::ClientOptions options;
  options.socket_path = argv[1];
  const size_t count = std::strtoull(argv[2], nullptr, 10);
  taskpool::SubmitOptions submit_options;
  submit_options.max_retries = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));

  auto client = taskpool::Client::Connect(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  std::vector<std::atomic<uint8_t>> results(count);
  std::atomic<size_t> ok{0}, died{0}, other{0}, done{0};
  std::mutex mutex;
  std::condition_variable all_done;
  const auto on_result = [&](size_t i, const taskpool::TaskResult& result) {
    results[i].fetch_add(1);
    if (result.ok() && result.output == std::to_string(i)) {
      ++ok;
    } else if (result.code == taskpool::ErrorCode::kWorkerDied) {
      ++died;
    } else {
      if (other.fetch_add(1) < 5) {
        std::fprintf(stderr, "task %zu: %s\n", i, result.status().ToString().c_str());
      }
    }
    if (++done == count) {
      std::lock_guard lock(mutex);
      all_done.notify_all();
    }
  };
  if (chunksize > 1) {
    std::vector<std::string> inputs;
    for (size_t i = 0; i < count; ++i) inputs.push_back(std::to_string(i));
    taskpool::ResultStream stream =
        (*client)->imap_unordered("echo", inputs, chunksize, 0, submit_options);
    while (auto item = stream.next()) on_result(item->index, item->result);
  } else {
    for (size_t i = 0; i < count; ++i) {
      (*client)->submit("echo", std::to_string(i),
                        [&, i](taskpool::TaskResult result) { on_result(i, result); },
                        submit_options);
    }
  }
  {
    std::unique_lock lock(mutex);
    if (!all_done.wait_for(lock, std::chrono::minutes(5), [&] { return done == count; })) {
      std::fprintf(stderr, "timed out with %zu of %zu results\n", done.load(), count);
    }
  }
  size_t duplicates = 0, missing = 0;
  for (auto& seen : results) {
    duplicates += seen > 1;
    missing += seen == 0;
  }
  std::printf("ok=%zu died=%zu other=%zu duplicates=%zu missing=%zu\n", ok.load(),
              died.load(), other.load(), duplicates, missing);
  return (duplicates == 0 && missing == 0 && other == 0) ? 0 : 1;
}
