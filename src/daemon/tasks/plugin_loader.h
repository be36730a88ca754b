// Loads plugins (shared libraries built with <taskpool/plugin.hpp>) into a
// TaskRegistry before the supervisor forks, so every worker inherits them.
//
// A plugin stays loaded for the life of the process: its functions are
// called from workers forked later, and its hooks run in each of them.
#pragma once

#include <string>
#include <vector>

#include "daemon/tasks/task_registry.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// dlopen()s each path (RTLD_NOW | RTLD_LOCAL, in order), checks its ABI
// version and registers its functions and worker hooks in `registry`.
// Stops at the first problem, with a message naming the path: a library
// that cannot be loaded (with dlerror's text), one without the
// taskpool_plugin_entry symbol, an ABI version other than ours (both
// named), or a function name already registered. Context::lock() in the
// plugins' functions takes its locks in `lock_directory` (a
// NamedLockDirectory's path).
// REQUIRES: called before the first fork; single-threaded.
Status LoadPlugins(const std::vector<std::string>& paths,
                   const std::string& lock_directory, TaskRegistry& registry);

}  // namespace taskpool::daemon
