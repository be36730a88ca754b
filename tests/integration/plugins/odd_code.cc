// A plugin function that claims an error code only the daemon may give.
#include <taskpool/plugin.hpp>

namespace {
taskpool::plugin::Output ClaimTimeout(std::string_view,
                                      taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Error(taskpool::ErrorCode::kTimeout,
                                         "pretending to time out");
}
TASKPOOL_FUNCTION("claims_timeout", ClaimTimeout)
}  // namespace
