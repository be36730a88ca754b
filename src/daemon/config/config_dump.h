// The effective configuration written back in config-file syntax, and the
// difference between two configurations, option by option. Both work on
// the same text: an option's value is what its `name = value` lines say,
// so "changed" means exactly "would be written differently in the file".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {

// Every option of `config` as `name = value` lines, in --help order, that
// ParseDaemonCommandLine reads back to the same configuration (users and
// groups as numeric ids). Repeatable options (limit, plugin) give one line
// per value; unset optional ones (socket-group, metrics-listen) none.
std::string DumpConfig(const DaemonConfig& config);

struct OptionChange {
  std::string name;    // as in the file: "workers"
  std::string before;  // its lines' values, joined by ", "; "" when unset
  std::string after;
  bool live = false;  // ApplyLiveOptions applies it; else it needs a restart
};

// The options whose value differs between `running` and `next`, in --help
// order.
std::vector<OptionChange> DiffConfigs(const DaemonConfig& running, const DaemonConfig& next);

// Whether a running daemon can take a new value of option `name` (workers,
// limits, timeouts, slow log, log level, access lists...). The others
// (socket, queue geometry, plugins, the functions registered) are fixed
// from the start: the queue is sized and the workers' code loaded once.
// (The supervisor makes one exception: plugins added after the running
// ones are loaded, see Supervisor::Reload.)
bool IsLiveOption(std::string_view name);

// Copies every live option from `next` into `running`, leaving the rest.
void ApplyLiveOptions(const DaemonConfig& next, DaemonConfig& running);

}  // namespace taskpool::daemon
