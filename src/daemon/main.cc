// taskpoold: the supervisor daemon. See daemon/pool/supervisor.h.
#include <unistd.h>

#include <iostream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "base/log.h"
#include "daemon/config/config_dump.h"
#include "daemon/config/daemon_config.h"
#include "daemon/config/function_setup.h"
#include "daemon/serve/instance_lock.h"
#include "daemon/tasks/named_lock.h"
#include "daemon/systemd/socket_activation.h"
#include "daemon/pool/process_title.h"
#include "daemon/pool/supervisor.h"
#include "daemon/tasks/task_registry.h"

namespace {

using namespace taskpool;
using namespace taskpool::daemon;

// --test-config: what a start would refuse, without starting (nginx -t).
int TestConfig(const DaemonConfig& config) {
  TaskRegistry registry;
  const std::string locks = NamedLockDirectory::PathFor(config.socket_path);
  if (Status status = RegisterConfiguredFunctions(config, locks, registry); !status.ok()) {
    std::cerr << "taskpoold: " << status.message() << "\n";
    return 2;
  }
  // Valid, but a start now would fail. A warning, not an error: the
  // usual check before a reload runs beside the daemon, whose own queue
  // then counts as used.
  if (Status fits = Supervisor::CheckQueueFits(config); !fits.ok()) {
    std::cerr << "taskpoold: warning: a start now would fail: " << fits.message()
              << " (a running taskpoold's own queue counts as used)\n";
  }
  if (config.dump_config) std::cout << DumpConfig(config);
  std::cout << "taskpoold: configuration OK"
            << (config.config_file.empty() ? " (no config file)"
                                           : " (" + config.config_file + ")")
            << "\n";
  return 0;
}

void WarnAboutDangerousFunctions(const DaemonConfig& config) {
  if (config.enable_test_tasks) {
    TP_LOG(kWarning) << "test tasks `crash` and `alloc` are enabled (--enable-test-tasks)";
  }
  if (config.enable_exec) {
    TP_LOG(kWarning) << "exec is enabled (--enable-exec): every peer the access policy "
                        "admits can run any command as uid "
                     << geteuid();
  }
}

// The flags as given at start, kept for reloads: the process title
// overwrites argv's memory.
class StartFlags {
 public:
  StartFlags(int argc, char** argv) : strings_(argv, argv + argc) {
    for (const std::string& flag : strings_) pointers_.push_back(flag.c_str());
  }
  int argc() const { return static_cast<int>(pointers_.size()); }
  const char* const* argv() const { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<const char*> pointers_;
};

// systemd's socket is the one clients use, whatever --socket says; its
// path also names our lock file.
void UseActivatedSocket(const ActivatedSocket& activated, DaemonConfig& config) {
  if (activated.fd < 0) return;
  if (!activated.path.empty()) config.socket_path = activated.path;
  config.listen_fd = activated.fd;
}

// SIGHUP's reading of the configuration: the same flags and file as at
// start, every problem in the error's message.
Supervisor::ConfigReader ConfigRereader(const StartFlags& flags,
                                        const ActivatedSocket& activated) {
  return [&flags, activated]() -> Result<DaemonConfig> {
    std::ostringstream problems;
    ParsedCommandLine parsed = ParseDaemonCommandLine(flags.argc(), flags.argv(), problems);
    if (std::holds_alternative<int>(parsed)) {
      return Status(ErrorCode::kInvalidArgument, problems.str());
    }
    DaemonConfig& config = std::get<DaemonConfig>(parsed);
    UseActivatedSocket(activated, config);
    return std::move(config);
  };
}

}  // namespace

int main(int argc, char** argv) {
  const StartFlags flags(argc, argv);
  ParsedCommandLine parsed = ParseDaemonCommandLine(flags.argc(), flags.argv());
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  DaemonConfig& config = std::get<DaemonConfig>(parsed);
  if (config.test_config) return TestConfig(config);
  InitProcessTitle(argc, argv);

  base::SetLogLevel(config.log_level);
  base::SetLogTag("taskpoold");

  Result<ActivatedSocket> activated = TakeActivatedSocket();
  if (!activated.ok()) {
    TP_LOG(kError) << activated.status().message();
    return 1;
  }
  if (activated->fd >= 0 && !activated->path.empty() &&
      activated->path != config.socket_path) {
    TP_LOG(kInfo) << "socket-activated on " << activated->path << " (instead of "
                  << config.socket_path << ")";
  }
  UseActivatedSocket(*activated, config);

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

  // Before the supervisor forks, so workers inherit the loaded code. A
  // plugin that cannot be used is a configuration error, like a bad flag.
  WarnAboutDangerousFunctions(config);
  TaskRegistry registry;
  if (Status status = RegisterConfiguredFunctions(config, (*lock_directory)->path(), registry);
      !status.ok()) {
    TP_LOG(kError) << status.message();
    return 2;
  }

  Supervisor supervisor(config, registry, ConfigRereader(flags, *activated),
                        (*lock_directory)->path());
  return supervisor.Run();
}
