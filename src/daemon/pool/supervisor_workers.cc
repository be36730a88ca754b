// The supervisor's side of its workers' lives: reaping them, telling a
// planned end from a crash (worker_exit.h), and respawning them, at once or
// after the crash back-off (respawn_policy.h).
#include <sys/wait.h>

#include "base/log.h"
#include "daemon/pool/supervisor.h"
#include "daemon/pool/worker_exit.h"
#include "daemon/pool/worker_main.h"

namespace taskpool::daemon {

void Supervisor::ReapWorkers() {
  workers_->ReapExited(
      [this](const WorkerEntry& entry, const std::string& cause, int status) {
        OnWorkerExit(entry, cause, status);
      });
  // The last worker without a plugin a reload added may be gone.
  if (router_) router_->SetFunctionsOnEveryWorker(workers_->FunctionsOnEveryWorker());
}

void Supervisor::OnWorkerExit(const WorkerEntry& entry, const std::string& cause,
                              int wait_status) {
  // Read before the recovery below resets the slot's record.
  const uint64_t tasks_done = queue_->activity(entry.index).tasks_done;
  // Settle what it held before its slot gets a new process. A retiring
  // worker held nothing, but a death is a death: check anyway.
  router_->WorkerDied(entry.index, entry.pid, cause);
  const WorkerExit exit = ClassifyWorkerExit(entry, wait_status);
  CountExit(exit);
  ReportClusterLoad();
  switch (exit) {
    case WorkerExit::kStoppedWithPool:
      TP_LOG(kDebug) << "worker " << entry.index << " (pid " << entry.pid << ") " << cause;
      if (workers_->live_count() == 0) FinishShutdown();
      return;
    case WorkerExit::kScaledDown:
    case WorkerExit::kRetiredForRestart:
      TP_LOG(kInfo) << "worker " << entry.number << " (pid " << entry.pid << ") retired "
                    << (exit == WorkerExit::kScaledDown ? "(fewer workers after the reload)"
                                                        : "for the rolling restart");
      workers_->MakeSpare(entry.index);
      if (retiring_ == entry.index) {
        retiring_.reset();
        ReplaceNextWorker();
      }
      return;
    case WorkerExit::kRecycledMaxTasks:
    case WorkerExit::kRecycledMaxRss:
    case WorkerExit::kOutOfMemory:
      TP_LOG(kInfo) << "worker " << entry.number << " (pid " << entry.pid
                    << ") retired itself; starting its replacement";
      Respawn(entry.index);
      break;
    case WorkerExit::kKilledByDaemon:
      // Never a crash: no back-off, no alarm (see worker_exit.h).
      TP_LOG(kInfo) << "worker " << entry.index << " (pid " << entry.pid
                    << ") was killed by the daemon for its task; replacing it at once";
      Respawn(entry.index);
      break;
    case WorkerExit::kCannotStart:
    case WorkerExit::kCrashed:
      OnWorkerCrashed(entry, cause, wait_status, tasks_done);
      break;
  }
  StopWorkersIfDrained();
}

void Supervisor::OnWorkerCrashed(const WorkerEntry& entry, const std::string& cause,
                                 int wait_status, uint64_t tasks_done) {
  TP_LOG(kWarning) << "worker " << entry.index << " (pid " << entry.pid << ") " << cause;
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == kWorkerFatalExitCode) {
    TP_LOG(kError) << "worker " << entry.index
                   << " cannot start (fatal exit status); not respawning it";
    if (workers_->live_count() == 0) {
      router_->CancelNotRunning("no worker can run: every worker failed to start",
                                CancelReason::kNoWorkers);
    }
    return;
  }
  const std::chrono::milliseconds delay =
      respawn_policy_->OnCrash(entry.index, entry.started, tasks_done);
  if (respawn_policy_->ShouldRaiseAlarm()) {
    TP_LOG(kError) << "CRASH RATE ALARM: " << respawn_policy_->recent_crashes()
                   << " worker deaths in the last minute (threshold "
                   << config_.crash_rate_threshold
                   << "); check the task functions being run";
  }
  if (delay.count() == 0) {
    Respawn(entry.index);
  } else {
    TP_LOG(kWarning) << "worker " << entry.index << " died within "
                     << RespawnPolicy::kQuickDeath.count() << " s of starting; respawning in "
                     << delay.count() << " ms";
    RespawnLater(entry.index, delay);
  }
}

void Supervisor::RespawnLater(uint32_t index, std::chrono::milliseconds delay) {
  boost::asio::steady_timer& timer = *respawn_timers_[index];
  timer.expires_after(delay);
  timer.async_wait([this, index](const boost::system::error_code& error) {
    if (!error) Respawn(index);
  });
}

void Supervisor::Respawn(uint32_t index) {
  if (phase_ == Phase::kStoppingWorkers || phase_ == Phase::kFinished) return;
  if (workers_->entries()[index].state != WorkerEntry::State::kExited) return;
  Status respawned = workers_->Respawn(index);
  if (!respawned.ok()) {
    TP_LOG(kError) << respawned.message() << "; retrying in 1 s";
    RespawnLater(index, std::chrono::seconds(1));
  }
}

}  // namespace taskpool::daemon
