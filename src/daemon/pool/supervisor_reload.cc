// Supervisor, part two: SIGHUP. Reads the configuration again, keeps the
// running one if the new one has any problem, applies what can change
// while serving, and replaces the workers one at a time.
#include <algorithm>
#include <sstream>

#include "base/log.h"
#include "daemon/config/config_dump.h"
#include "daemon/config/function_setup.h"
#include "daemon/tasks/plugin_loader.h"
#include "daemon/pool/process_stats.h"
#include "daemon/pool/retire_bound.h"
#include "daemon/pool/supervisor.h"

namespace taskpool::daemon {

namespace {

void LogEachLine(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    // The parser's lines start with the program name; the log has its own.
    constexpr std::string_view kPrefix = "taskpoold: ";
    if (line.starts_with(kPrefix)) line.erase(0, kPrefix.size());
    if (!line.empty()) TP_LOG(kError) << "reload: " << line;
  }
}

std::string Shown(const std::string& value) { return value.empty() ? "(unset)" : value; }

// Whether `next` is `running` with more plugins after it: the one plugin
// change a reload can make, since loading never moves a function already
// loaded (workers and statistics know functions by index).
bool AddsPlugins(const std::vector<std::string>& running, const std::vector<std::string>& next) {
  return next.size() > running.size() &&
         std::equal(running.begin(), running.end(), next.begin());
}

}  // namespace

void Supervisor::Reload() {
  TP_LOG(kInfo) << "SIGHUP: reading the configuration again"
                << (config_.config_file.empty() ? "" : " from " + config_.config_file);
  Result<DaemonConfig> next = reread_config_();
  if (next.ok()) {
    if (std::string problem = CheckLikeAStart(*next); !problem.empty()) {
      next = Status(ErrorCode::kInvalidArgument, problem);
    }
  }
  const bool adds_plugins = next.ok() && AddsPlugins(config_.plugins, next->plugins);
  if (next.ok() && adds_plugins && !LoadAddedPlugins(*next)) {
    next = Status(ErrorCode::kInvalidArgument, "");  // logged by LoadAddedPlugins
  }
  if (next.ok()) {
    if (std::string problem = CheckAgainstRegistry(*next); !problem.empty()) {
      next = Status(ErrorCode::kInvalidArgument, problem);
    }
  }
  if (!next.ok()) {
    LogEachLine(next.status().message());
    TP_LOG(kError) << "reload: the new configuration has problems (above); still running "
                      "the previous one, workers not restarted";
    return;
  }
  if (next->workers > workers_->max_size()) {
    TP_LOG(kWarning) << "reload: workers = " << next->workers << " needs a restart: the "
                     << "queue has room for " << workers_->max_size()
                     << " workers (twice as many as at start, at least 8); keeping "
                     << config_.workers;
    next->workers = config_.workers;
  }
  size_t restart_needed = 0;
  for (const OptionChange& change : DiffConfigs(config_, *next)) {
    if (change.live || (change.name == "plugin" && adds_plugins)) {
      TP_LOG(kInfo) << "reload: " << change.name << ": " << Shown(change.before) << " -> "
                    << Shown(change.after);
    } else {
      ++restart_needed;
      TP_LOG(kWarning) << "reload: " << change.name << " changed (" << Shown(change.before)
                       << " -> " << Shown(change.after)
                       << ") but takes a restart to apply; still " << Shown(change.before);
    }
  }
  // The workers to replace are the ones running the old configuration;
  // those forked by a larger pool below already run the new one.
  std::vector<uint32_t> old_workers;
  for (const WorkerEntry& entry : workers_->entries()) {
    if (entry.state == WorkerEntry::State::kRunning) old_workers.push_back(entry.index);
  }
  ApplyLiveConfig(*next);
  if (adds_plugins) config_.plugins = next->plugins;
  TP_LOG(kInfo) << "reload: configuration applied"
                << (restart_needed == 0
                        ? ""
                        : "; " + std::to_string(restart_needed) +
                              " changed options wait for a restart");
  rolling_restart_ = std::move(old_workers);
  BeginRollingRestart();
}

std::string Supervisor::CheckLikeAStart(const DaemonConfig& next) const {
  // A start's own check, on a registry of its own: the plugins of `next`
  // are opened (one already loaded is the same library again) and the
  // --limit names resolved against them.
  TaskRegistry scratch;
  Status checked = RegisterConfiguredFunctions(next, lock_directory_, scratch);
  return checked.ok() ? "" : checked.message();
}

bool Supervisor::LoadAddedPlugins(const DaemonConfig& next) {
  const std::vector<std::string> added(next.plugins.begin() + config_.plugins.size(),
                                       next.plugins.end());
  if (Status loaded = LoadPlugins(added, lock_directory_, registry_); !loaded.ok()) {
    // What loaded before the failure stays (a plugin cannot be unloaded);
    // workers forked from now on have it, and the rest still runs.
    TP_LOG(kError) << "reload: " << loaded.message();
    return false;
  }
  // Held until every worker has them: the rolling restart below sees to it.
  router_->SetFunctionsOnEveryWorker(workers_->FunctionsOnEveryWorker());
  TP_LOG(kInfo) << "reload: loaded " << added.size() << " more plugin"
                << (added.size() == 1 ? "" : "s") << "; their functions run once every "
                << "worker has been replaced";
  return true;
}

std::string Supervisor::CheckAgainstRegistry(const DaemonConfig& next) const {
  // The names must be among the functions the workers will have: plugins
  // other than added ones are not loaded again (that takes a restart).
  std::string problems;
  for (const auto& [function, limit] : next.function_limits) {
    if (Result<uint32_t> known = registry_.Find(function); !known.ok()) {
      problems += "--limit " + function + "=" + std::to_string(limit) + ": " +
                  known.status().message() + "\n";
    }
  }
  return problems;
}

void Supervisor::ApplyLiveConfig(const DaemonConfig& next) {
  const uint32_t old_size = config_.workers;
  ApplyLiveOptions(next, config_);
  base::SetLogLevel(config_.log_level);
  router_->ReloadLimits();
  server_->ReloadAccessPolicy();
  respawn_policy_->set_threshold(config_.crash_rate_threshold);
  workers_->SetLimits(CurrentWorkerLimits());
  if (config_.workers < old_size) {
    workers_->ShrinkTo(config_.workers);
  } else if (config_.workers > old_size) {
    if (Status grown = workers_->GrowTo(config_.workers); !grown.ok()) {
      TP_LOG(kError) << "reload: starting more workers: " << grown.message();
      config_.workers = workers_->size();
    }
  }
}

void Supervisor::BeginRollingRestart() {
  TP_LOG(kInfo) << "SIGHUP: replacing " << rolling_restart_.size()
                << " workers one at a time";
  // During a roll, the retiring worker's exit moves on to the next one.
  if (!retiring_) ReplaceNextWorker();
}

void Supervisor::ReplaceNextWorker() {
  while (!rolling_restart_.empty() && phase_ == Phase::kServing) {
    const uint32_t index = rolling_restart_.front();
    rolling_restart_.erase(rolling_restart_.begin());
    if (workers_->entries()[index].state != WorkerEntry::State::kRunning) continue;
    Result<uint32_t> replacement = workers_->Replace(index);
    if (!replacement.ok()) {
      TP_LOG(kError) << "rolling restart: " << replacement.status().message();
      rolling_restart_.clear();
      return;
    }
    retiring_ = index;  // its exit replaces the next one
    retiring_since_ = base::SteadyClock::now();
    WatchRetiring();
    return;
  }
  if (rolling_restart_.empty() && !retiring_) TP_LOG(kInfo) << "rolling restart complete";
}

void Supervisor::WatchRetiring() {
  retire_timer_.expires_after(kRetireCheckInterval);
  retire_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) CheckRetiring();
  });
}

void Supervisor::CheckRetiring() {
  if (!retiring_) return;
  const WorkerEntry& entry = workers_->entries()[*retiring_];
  if (entry.state != WorkerEntry::State::kRetiring) return;  // the pool is stopping
  // Not yet reaped, so the pid is still ours; unreadable means it just exited.
  const Result<ProcessStats> stats = ReadProcessStats(entry.pid);
  const auto retiring_for = base::SteadyClock::now() - retiring_since_;
  switch (JudgeRetiring(retiring_for, stats.ok() && stats->stopped(), config_.shutdown_timeout)) {
    case RetireVerdict::kWait:
      WatchRetiring();
      return;
    case RetireVerdict::kKillStopped:
      TP_LOG(kWarning) << "rolling restart: worker " << entry.number << " (pid " << entry.pid
                       << ") is stopped and cannot retire; killing it";
      workers_->Kill(entry.index, "by the rolling restart, since it was stopped");
      return;
    case RetireVerdict::kKillOverdue:
      TP_LOG(kWarning) << "rolling restart: worker " << entry.number << " (pid " << entry.pid
                       << ") has not retired within " << config_.shutdown_timeout.count()
                       << " ms (--shutdown-timeout-ms); killing it";
      workers_->Kill(entry.index, "by the rolling restart, since it did not retire within " +
                                      std::to_string(config_.shutdown_timeout.count()) + " ms");
      return;
  }
}

}  // namespace taskpool::daemon
