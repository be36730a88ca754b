// Supervisor, part two: SIGHUP. Reads the configuration again, keeps the
// running one if the new one has any problem, applies what can change
// while serving, and replaces the workers one at a time.
#include <sstream>

#include "base/log.h"
#include "daemon/config/config_dump.h"
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

}  // namespace

void Supervisor::Reload() {
  TP_LOG(kInfo) << "SIGHUP: reading the configuration again"
                << (config_.config_file.empty() ? "" : " from " + config_.config_file);
  Result<DaemonConfig> next = reread_config_();
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
    if (change.live) {
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
  TP_LOG(kInfo) << "reload: configuration applied"
                << (restart_needed == 0
                        ? ""
                        : "; " + std::to_string(restart_needed) +
                              " changed options wait for a restart");
  rolling_restart_ = std::move(old_workers);
  BeginRollingRestart();
}

std::string Supervisor::CheckAgainstRegistry(const DaemonConfig& next) const {
  // What RegisterConfiguredFunctions checks at start; plugins are not
  // loaded again (that takes a restart), so the names must be among the
  // functions the workers have.
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
  workers_->SetLimits({config_.max_tasks_per_worker, config_.max_worker_rss_mib});
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
    return;
  }
  if (rolling_restart_.empty() && !retiring_) TP_LOG(kInfo) << "rolling restart complete";
}

}  // namespace taskpool::daemon
