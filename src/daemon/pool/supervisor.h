// The supervisor: owns the queue, the worker processes, the listening
// socket and the event loop that ties them together. It never runs task
// code. Everything happens on one thread (the Asio loop), so forking a
// replacement worker is always safe.
//
// Workers: a crashed worker's task is settled (retried or WORKER_DIED) and
// the slot respawned, with the brakes of RespawnPolicy; a worker that
// retires (--max-tasks-per-worker, --max-worker-rss-mib) is replaced at
// once. Deaths nobody asked for are counted apart from planned
// replacements (workers_died vs workers_replaced in the status).
//
// Reload (SIGHUP): reads the configuration again as at start (the config
// file and the flags given then) and checks it; a configuration with any
// problem is logged, every problem on its own line, and ignored. Otherwise
// the options that can change live are applied (workers up or down,
// limits, timeouts, slow log, log level, access lists, plugins added after
// the running ones, whose functions are held until every worker has
// them), the options that need a restart and changed are logged as such,
// and every worker is
// replaced one at a time, starting the new one before retiring the old,
// which finishes its task first; one that is stopped or overdue is killed
// (retire_bound.h says when). See config/config_dump.h for which option
// is which.
//
// Lifecycle: Run() creates the queue, forks the workers, listens, and
// serves until SIGTERM/SIGINT. Then it stops accepting, lets queued and
// running tasks finish (bounded by --shutdown-timeout-ms; a second signal
// or the timeout cancels what is queued and kills what runs, and those
// tasks end CANCELLED / WORKER_DIED), stops the workers, flushes results to
// clients and returns.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <map>
#include <vector>

#include "base/clock.h"
#include "shmq/supervisor_queue.h"
#include "daemon/cluster/cluster_node.h"
#include "daemon/serve/client_session.h"
#include "daemon/config/daemon_config.h"
#include "daemon/serve/http_server.h"
#include "daemon/pool/respawn_policy.h"
#include "daemon/pool/worker_exit.h"
#include "daemon/serve/server.h"
#include "daemon/systemd/systemd_notifier.h"
#include "daemon/tasks/task_registry.h"
#include "daemon/route/asio_router_clock.h"
#include "daemon/route/shmq_queue_adapter.h"
#include "daemon/route/task_router.h"
#include "daemon/pool/worker_pool.h"

namespace taskpool::daemon {

class Supervisor : private ConnectionHost {
 public:
  // Reads the configuration again, exactly as at start; an error's message
  // holds every problem, one per line.
  using ConfigReader = std::function<Result<DaemonConfig>()>;

  // `registry` is the workers' functions; a reload may append a plugin's
  // to it, loading the plugin with its named locks in `lock_directory`.
  Supervisor(DaemonConfig config, TaskRegistry& registry, ConfigReader reread_config,
             std::string lock_directory);
  ~Supervisor() override;

  // Serves until stopped by a signal. Returns the process exit code.
  int Run();

  // What a start would refuse about the queue, without creating it: a
  // /dev/shm without room for it now, with the message the start gives
  // (--test-config).
  static Status CheckQueueFits(const DaemonConfig& config);

 private:
  // The queue's geometry for `config`.
  static shmq::QueueGeometry QueueGeometryFor(const DaemonConfig& config);
  Status Start();
  // Starts the --http-listen endpoint (status page, /status.json,
  // /metrics), if configured.
  Status ServeHttp();
  // With --cluster: joins the cluster (starts the agent).
  Status JoinCluster();
  // Tells the cluster agent, soon, how many tasks it may fetch.
  void ReportClusterLoad();
  void WaitForSignal();
  void OnSignal(int signal_number);
  void WaitForResults();
  void ReapWorkers();
  void OnWorkerExit(const WorkerEntry& entry, const std::string& cause,
                    int wait_status);
  void OnWorkerCrashed(const WorkerEntry& entry, const std::string& cause,
                       int wait_status, uint64_t tasks_done);
  void RespawnLater(uint32_t index, std::chrono::milliseconds delay);
  void Respawn(uint32_t index);
  // SIGHUP: read, check and apply the configuration, then roll.
  void Reload();
  // Problems a start would also find that the parse does not (plugins,
  // --limit names); "" when there are none.
  std::string CheckLikeAStart(const DaemonConfig& next) const;
  // The --limit names against the functions the workers will have.
  std::string CheckAgainstRegistry(const DaemonConfig& next) const;
  // Loads the plugins `next` adds after the running ones; false (logged)
  // if one cannot be loaded.
  bool LoadAddedPlugins(const DaemonConfig& next);
  void ApplyLiveConfig(const DaemonConfig& next);
  // What workers forked from now on run with.
  WorkerLimits CurrentWorkerLimits() const;
  // Replace every worker, one at a time.
  void BeginRollingRestart();
  void ReplaceNextWorker();
  // Looks at the worker being retired every kRetireCheckInterval and kills
  // it when retire_bound.h says so.
  void WatchRetiring();
  void CheckRetiring();
  // Counts a worker's exit as a planned replacement, by reason, or as a
  // death (worker_exit.h says which).
  void CountExit(WorkerExit exit);

  // Reserves the queue's remaining slots in /dev/shm, one step per turn
  // of the event loop (slot_reservation.h says why not all at creation).
  void ReserveQueueAhead();
  // READY=1 waits until every worker has attached to the queue and the
  // queue's memory is reserved (or its reservation gave up).
  void NotifyReadyWhenWorkersUp();
  bool AllWorkersUp();
  // The STATUS= line: workers, queued, running, done.
  std::string DescribeForSystemd();

  void BeginShutdown(const char* why);
  void ForceShutdown(const char* why);
  void StopWorkersIfDrained();
  void FinishShutdown();

  // ConnectionHost
  void OnHello(ClientSession& connection, const v1::Hello& hello,
               v1::HelloReply* reply) override;
  void OnSubmit(ClientSession& connection, const v1::Submit& submit) override;
  void OnCancel(ClientSession& connection, const v1::Cancel& cancel) override;
  void FillStatus(v1::StatusReply* status) override;
  bool HasTasksInFlight(const ClientSession& connection) const override;
  void OnBuffersChanged(ClientSession& connection) override;
  uint64_t TaskBytes(const ClientSession& connection) const override;
  void OnClosed(ClientSession& connection) override;

  enum class Phase { kServing, kDraining, kStoppingWorkers, kFinished };

  // What the daemon runs with; a reload changes its live options in place,
  // and the router and the server read them from here.
  DaemonConfig config_;
  TaskRegistry& registry_;
  ConfigReader reread_config_;
  const std::string lock_directory_;
  const base::SteadyTime started_;
  const int64_t started_unix_ms_;
  // Worker exits: the unexpected ones, and the planned ones by reason.
  uint64_t workers_died_ = 0;
  std::map<std::string, uint64_t> workers_replaced_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer shutdown_timer_;
  boost::asio::steady_timer ready_timer_;
  boost::asio::steady_timer reserve_timer_;  // ReserveQueueAhead's start
  SystemdNotifier systemd_;
  std::unique_ptr<shmq::SupervisorQueue> queue_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<RespawnPolicy> respawn_policy_;
  // One timer per worker slot, for delayed respawns.
  std::vector<std::unique_ptr<boost::asio::steady_timer>> respawn_timers_;
  // Workers still to be replaced by the rolling restart under way, and the
  // one being replaced now (its exit moves the restart on).
  std::vector<uint32_t> rolling_restart_;
  std::optional<uint32_t> retiring_;
  base::SteadyTime retiring_since_;
  boost::asio::steady_timer retire_timer_;
  // The router's view of the queue and of time, then the router.
  std::unique_ptr<ShmqQueueAdapter> router_queue_;
  AsioRouterClock router_clock_{io_};
  std::unique_ptr<TaskRouter> router_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<HttpServer> http_server_;  // with --http-listen
  std::unique_ptr<cluster::ClusterNode> cluster_;    // with --cluster
  std::optional<boost::asio::posix::stream_descriptor> results_ready_;
  Phase phase_ = Phase::kServing;
  bool load_report_posted_ = false;  // ReportClusterLoad's, not yet run
  bool queue_reservation_ended_ = false;  // ReserveQueueAhead's, done or given up
};

}  // namespace taskpool::daemon
