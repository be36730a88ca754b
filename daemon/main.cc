// taskpoold: the supervisor daemon. See daemon/supervisor.h.
#include <variant>

#include "common/log.h"
#include "daemon/daemon_config.h"
#include "daemon/instance_lock.h"
#include "daemon/plugin_loader.h"
#include "daemon/supervisor.h"
#include "daemon/task_registry.h"
#include "daemon/test_tasks.h"

int main(int argc, char** argv) {
  using namespace taskpool;
  ParsedCommandLine parsed = ParseDaemonCommandLine(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const DaemonConfig& config = std::get<DaemonConfig>(parsed);

  SetLogLevel(config.log_level);
  SetLogTag("taskpoold");

  Result<std::unique_ptr<InstanceLock>> lock = InstanceLock::Acquire(config.socket_path);
  if (!lock.ok()) {
    TP_LOG(kError) << lock.status().message();
    return 1;
  }

  TaskRegistry registry;
  RegisterBuiltins(registry);
  if (config.enable_test_tasks) {
    RegisterTestTasks(registry);
    TP_LOG(kWarning) << "test tasks `crash` and `alloc` are enabled (--enable-test-tasks)";
  }
  // Before the supervisor forks, so workers inherit the loaded code. A
  // plugin that cannot be used is a configuration error, like a bad flag.
  if (Status status = LoadPlugins(config.plugins, registry); !status.ok()) {
    TP_LOG(kError) << status.message();
    return 2;
  }

  Supervisor supervisor(config, registry);
  return supervisor.Run();
}
