// Plugin functions for the cluster tests.
#include <taskpool/plugin.hpp>

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

namespace {

using taskpool::plugin::Context;
using taskpool::plugin::Output;

// Runs until the file named by the payload exists ("released"), or until
// cancelled (CANCELLED). A test holds tasks running on several nodes, looks
// at them, then releases them all by creating the file. Gives up after
// 60 s so a broken test fails instead of hanging.
Output Hold(std::string_view payload, Context& context) {
  const std::string path(payload);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    struct stat info {};
    if (stat(path.c_str(), &info) == 0) return Output::Ok("released");
    if (context.cancelled()) return Output::Error(taskpool::ErrorCode::kCancelled, "stopped early");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Output::Error(taskpool::ErrorCode::kTaskFailed, "never released");
}
TASKPOOL_FUNCTION("hold", Hold)

}  // namespace
