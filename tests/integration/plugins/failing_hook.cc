// A plugin whose on_worker_start hook throws: every worker must exit as
// unable to start while the daemon stays up.
#include <stdexcept>

#include <taskpool/plugin.hpp>

namespace {
void FailToStart() {
  throw std::runtime_error("cannot reach the license server");
}
TASKPOOL_ON_WORKER_START(FailToStart)

taskpool::plugin::Output Never(std::string_view, taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok("unreachable");
}
TASKPOOL_FUNCTION("never_runs", Never)
}  // namespace
