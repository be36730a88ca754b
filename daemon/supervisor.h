// The supervisor: owns the queue, the worker processes, the listening
// socket and the event loop that ties them together. It never runs task
// code. Everything happens on one thread (the Asio loop), so forking a
// replacement worker is always safe.
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
#include <memory>
#include <optional>

#include "common/task_queue.h"
#include "daemon/connection.h"
#include "daemon/daemon_config.h"
#include "daemon/server.h"
#include "daemon/task_registry.h"
#include "daemon/task_router.h"
#include "daemon/worker_pool.h"

namespace taskpool {

class Supervisor : private ConnectionHost {
 public:
  Supervisor(const DaemonConfig& config, const TaskRegistry& registry);
  ~Supervisor() override;

  // Serves until stopped by a signal. Returns the process exit code.
  int Run();

 private:
  Status Start();
  void WaitForSignal();
  void OnSignal(int signal_number);
  void WaitForResults();
  void OnWorkerExit(uint32_t index, const std::string& cause, int wait_status);

  void BeginShutdown(const char* why);
  void ForceShutdown(const char* why);
  void StopWorkersIfDrained();
  void FinishShutdown();

  // ConnectionHost
  void OnHello(Connection& connection, const v1::Hello& hello,
               v1::HelloReply* reply) override;
  void OnSubmit(const std::shared_ptr<Connection>& connection,
                const v1::Submit& submit) override;
  void OnSubmitsProcessed(Connection& connection) override;
  void OnCancel(Connection& connection, const v1::Cancel& cancel) override;
  void FillStatus(v1::StatusReply* status) override;
  void OnClosed(Connection& connection) override;

  enum class Phase { kServing, kDraining, kStoppingWorkers, kFinished };

  const DaemonConfig& config_;
  const TaskRegistry& registry_;
  const std::chrono::steady_clock::time_point started_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer shutdown_timer_;
  std::unique_ptr<TaskQueue> queue_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<TaskRouter> router_;
  std::unique_ptr<Server> server_;
  std::optional<boost::asio::posix::stream_descriptor> results_ready_;
  Phase phase_ = Phase::kServing;
};

}  // namespace taskpool
