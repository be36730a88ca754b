// A function that only the cluster test's node with this plugin offers.
#include <taskpool/plugin.hpp>

namespace {

taskpool::plugin::Output OnlyHere(std::string_view payload, taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok("only here: " + std::string(payload));
}
TASKPOOL_FUNCTION("only_here", OnlyHere)

}  // namespace
