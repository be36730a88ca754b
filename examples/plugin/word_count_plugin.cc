// An example taskpool plugin: `word_count` counts the whitespace-separated
// words of its payload, and says which worker ran it and how often that
// worker's on_worker_start hook ran (always once; the integration tests
// check it).
//
//   taskpoold --plugin build/client/examples/plugin/libword_count_plugin.so
//   taskpool call word_count "the quick fox"
//   -> 3 words (worker 1234 started at 1764180000123456 us, hook runs: 1)
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

#include <taskpool/plugin.hpp>

namespace {

// Per worker: each worker is its own process, so plain globals are
// per-worker state and need no locking.
int hook_runs = 0;
pid_t started_pid = 0;
long long started_unix_us = 0;

void RememberWorkerStart() {
  ++hook_runs;
  started_pid = getpid();
  timeval now{};
  gettimeofday(&now, nullptr);
  started_unix_us = now.tv_sec * 1'000'000LL + now.tv_usec;
}
TASKPOOL_ON_WORKER_START(RememberWorkerStart)

taskpool::plugin::Output WordCount(std::string_view payload,
                                   taskpool::plugin::Context& context) {
  size_t words = 0;
  bool in_word = false;
  for (char c : payload) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  if (context.attempt() > 1) context.log("retrying word_count");
  return taskpool::plugin::Output::Ok(
      std::to_string(words) + " words (worker " + std::to_string(started_pid) +
      " started at " + std::to_string(started_unix_us) +
      " us, hook runs: " + std::to_string(hook_runs) + ")");
}
TASKPOOL_FUNCTION("word_count", WordCount)

// Shows how an exception becomes a TASK_FAILED result.
taskpool::plugin::Output Explode(std::string_view payload,
                                 taskpool::plugin::Context&) {
  throw std::runtime_error("exploded on '" + std::string(payload) + "'");
}
TASKPOOL_FUNCTION("explode", Explode)

}  // namespace
