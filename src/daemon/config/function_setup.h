// The task functions a configuration asks for: built-ins, the test tasks,
// exec, plugins, and the --limit names resolved against them. Run at start
// and by --test-config, so both report the same problems.
#pragma once

#include <string>

#include "daemon/config/daemon_config.h"
#include "daemon/tasks/task_registry.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// Fills `registry` as `config` says. `lock_directory` is where plugins'
// named locks will live (it need not exist yet). An error names the plugin
// or the --limit that cannot be used; it is a configuration error (exit 2).
[[nodiscard]] Status RegisterConfiguredFunctions(const DaemonConfig& config,
                                                 const std::string& lock_directory,
                                                 TaskRegistry& registry);

}  // namespace taskpool::daemon
