// taskpoold: the supervisor daemon. See daemon/pool/supervisor.h.
#include <unistd.h>

#include <iostream>
#include <variant>

#include "base/log.h"
#include "daemon/config/daemon_config.h"
#include "daemon/tasks/exec_task.h"
#include "daemon/serve/instance_lock.h"
#include "daemon/tasks/named_lock.h"
#include "daemon/systemd/socket_activation.h"
#include "daemon/tasks/plugin_loader.h"
#include "daemon/pool/supervisor.h"
#include "daemon/tasks/task_registry.h"
#include "daemon/tasks/test_tasks.h"

int main(int argc, char** argv) {
  using namespace taskpool;
  using namespace taskpool::daemon;
  ParsedCommandLine parsed = ParseDaemonCommandLine(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  DaemonConfig& config = std::get<DaemonConfig>(parsed);

  base::SetLogLevel(config.log_level);
  base::SetLogTag("taskpoold");

  Result<ActivatedSocket> activated = TakeActivatedSocket();
  if (!activated.ok()) {
    TP_LOG(kError) << activated.status().message();
    return 1;
  }
  if (activated->fd >= 0) {
    // systemd's socket is the one clients use, whatever --socket says; its
    // path also names our lock file and shared-memory segment.
    if (!activated->path.empty() && activated->path != config.socket_path) {
      TP_LOG(kInfo) << "socket-activated on " << activated->path
                    << " (instead of " << config.socket_path << ")";
      config.socket_path = activated->path;
    }
    config.listen_fd = activated->fd;
  }

  // systemd owns an activated socket's file: never remove it.
  Result<std::unique_ptr<InstanceLock>> lock =
      InstanceLock::Acquire(config.socket_path, config.listen_fd < 0);
  if (!lock.ok()) {
    TP_LOG(kError) << lock.status().message();
    return 1;
  }

  // Context::lock() in plugin code: one directory per daemon, beside the
  // socket, removed when main returns.
  Result<std::unique_ptr<NamedLockDirectory>> lock_directory =
      NamedLockDirectory::Create(config.socket_path);
  if (!lock_directory.ok()) {
    TP_LOG(kError) << lock_directory.status().message();
    return 1;
  }

  TaskRegistry registry;
  RegisterBuiltins(registry);
  if (config.enable_test_tasks) {
    RegisterTestTasks(registry);
    TP_LOG(kWarning) << "test tasks `crash` and `alloc` are enabled (--enable-test-tasks)";
  }
  RegisterExec(registry, config.enable_exec, config.max_payload_bytes);
  if (config.enable_exec) {
    TP_LOG(kWarning) << "exec is enabled (--enable-exec): every peer the access policy "
                        "admits can run any command as uid "
                     << geteuid();
  }
  // Before the supervisor forks, so workers inherit the loaded code. A
  // plugin that cannot be used is a configuration error, like a bad flag.
  if (Status status = LoadPlugins(config.plugins, (*lock_directory)->path(), registry); !status.ok()) {
    TP_LOG(kError) << status.message();
    return 2;
  }

  for (const auto& [function, limit] : config.function_limits) {
    if (Result<uint32_t> known = registry.Find(function); !known.ok()) {
      std::cerr << "taskpoold: --limit " << function << "=" << limit << ": "
                << known.status().message() << "\n";
      return 2;
    }
  }

  Supervisor supervisor(config, registry);
  return supervisor.Run();
}
