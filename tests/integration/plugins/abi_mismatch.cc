// A plugin that claims another ABI version (through the test-only
// TASKPOOL_TEST_PLUGIN_ABI_VERSION define set by CMake).
#include <taskpool/plugin.hpp>

namespace {
taskpool::plugin::Output Echo(std::string_view payload,
                              taskpool::plugin::Context&) {
  return taskpool::plugin::Output::Ok(std::string(payload));
}
TASKPOOL_FUNCTION("abi_mismatch_echo", Echo)
}  // namespace
