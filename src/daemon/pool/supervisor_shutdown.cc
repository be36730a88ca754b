// The supervisor's way down: draining the tasks in flight (SIGTERM), or
// cancelling them and killing the workers (a second signal, the shutdown
// timeout), then flushing the last results to clients before the event
// loop stops.
#include <signal.h>

#include "base/log.h"
#include "daemon/pool/supervisor.h"

namespace taskpool::daemon {

namespace {

// After the workers are gone, how long slow clients get to read their last
// results before their connections are cut.
constexpr std::chrono::seconds kFinalFlushTimeout{2};

}  // namespace

void Supervisor::BeginShutdown(const char* why) {
  phase_ = Phase::kDraining;
  ready_timer_.cancel();
  systemd_.Stopping(std::string("stopping (") + why + "): draining " +
                    std::to_string(router_->in_flight()) + " tasks");
  server_->StopListening();
  router_->StopAccepting();
  TP_LOG(kInfo) << why << ": no longer accepting tasks; waiting for "
                << router_->in_flight() << " to finish (at most "
                << config_.shutdown_timeout.count() << " ms)";
  ReportClusterLoad();  // draining: fetch nothing more
  shutdown_timer_.expires_after(config_.shutdown_timeout);
  shutdown_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) ForceShutdown("shutdown timeout");
  });
  StopWorkersIfDrained();
}

void Supervisor::ForceShutdown(const char* why) {
  if (phase_ == Phase::kFinished) return;
  if (phase_ == Phase::kServing) BeginShutdown(why);
  TP_LOG(kWarning) << why << ": cancelling queued tasks and killing workers";
  router_->CancelNotRunning(std::string("taskpoold is shutting down (") + why + ")",
                            CancelReason::kShutdown);
  // Tell task code too (Context::cancelled()), for what it does on the way
  // down; the kill below does not wait for it.
  router_->RequestCancelRunning();
  phase_ = Phase::kStoppingWorkers;
  // The running tasks end WORKER_DIED when their workers are reaped.
  workers_->StopAll(SIGKILL);
  if (workers_->live_count() == 0) FinishShutdown();
}

void Supervisor::StopWorkersIfDrained() {
  if (phase_ != Phase::kDraining || router_->in_flight() != 0) return;
  phase_ = Phase::kStoppingWorkers;
  TP_LOG(kInfo) << "all tasks finished; stopping workers";
  workers_->StopAll(SIGTERM);
  if (workers_->live_count() == 0) FinishShutdown();
}

void Supervisor::FinishShutdown() {
  if (phase_ == Phase::kFinished) return;
  phase_ = Phase::kFinished;
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  results_ready_->close(ignored);
  for (auto& timer : respawn_timers_) timer->cancel();
  retire_timer_.cancel();
  reserve_timer_.cancel();
  if (http_server_) http_server_->Stop();
  if (cluster_) cluster_->Stop();
  systemd_.Stop();
  shutdown_timer_.expires_after(kFinalFlushTimeout);
  shutdown_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) io_.stop();  // a client that never reads must not hold us
  });
  // Results of tasks settled by the last reaps go out before closing; the
  // last connection to close cancels the timer (see OnClosed).
  server_->CloseAllAfterFlush();
  if (server_->connection_count() == 0) shutdown_timer_.cancel();
}

}  // namespace taskpool::daemon
