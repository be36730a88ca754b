// A plugin built only from the installed package (taskpool::plugin).
#include <string>
#include <string_view>

#include <taskpool/plugin.hpp>

namespace {
taskpool::plugin::Output Reverse(std::string_view payload,
                                 taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok(
      std::string(payload.rbegin(), payload.rend()));
}
TASKPOOL_FUNCTION("consumer_reverse", Reverse)
}  // namespace
