#include "daemon/config/function_setup.h"

#include "daemon/tasks/builtins.h"
#include "daemon/tasks/exec_task.h"
#include "daemon/tasks/plugin_loader.h"
#include "daemon/tasks/test_tasks.h"

namespace taskpool::daemon {

Status RegisterConfiguredFunctions(const DaemonConfig& config,
                                   const std::string& lock_directory,
                                   TaskRegistry& registry) {
  RegisterBuiltins(registry);
  if (config.enable_test_tasks) RegisterTestTasks(registry);
  RegisterExec(registry, config.enable_exec, config.max_payload_bytes);
  if (Status status = LoadPlugins(config.plugins, lock_directory, registry); !status.ok()) {
    return status;
  }
  for (const auto& [function, limit] : config.function_limits) {
    if (Result<uint32_t> known = registry.Find(function); !known.ok()) {
      return Status(ErrorCode::kInvalidArgument, "--limit " + function + "=" +
                                                     std::to_string(limit) + ": " +
                                                     known.status().message());
    }
  }
  return Status::Ok();
}

}  // namespace taskpool::daemon
