// A plugin that registers a name the built-ins already use.
#include <taskpool/plugin.hpp>

namespace {
taskpool::plugin::Output Echo(std::string_view payload,
                              taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok(std::string(payload));
}
TASKPOOL_FUNCTION("echo", Echo)
}  // namespace
