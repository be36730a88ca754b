#include "daemon/pool/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/post.hpp>

#include "base/clock.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/unique_fd.h"
#include "wire/prometheus_text.h"
#include "base/socket_path.h"
#include "daemon/pool/process_stats.h"
#include "daemon/pool/process_title.h"
#include "daemon/pool/worker_main.h"
#include "wire/worker_state.h"
#include "daemon/serve/status_endpoints.h"
#include "shmq/shm_files.h"

namespace taskpool::daemon {

namespace {

// How long after start the queue's remaining slots begin to be reserved:
// past a fresh daemon's first results, well before anyone fills a queue.
constexpr std::chrono::milliseconds kReserveQueueAfter{50};

// A queue that /dev/shm cannot hold: refused at start (it must have room
// for the whole queue then, reserved within milliseconds), naming the
// options that shrink it. shmq knows the sizes; the option names are the
// daemon's.
Status ExplainQueueStatus(const Status& status) {
  if (status.code() != ErrorCode::kSharedMemoryFull) return status;
  return Status(status.code(),
                "cannot start: " + status.message() +
                    "; lower --queue-capacity or --inline-payload-bytes (the queue takes about "
                    "capacity x 2 x inline bytes), or give /dev/shm more room (e.g. docker run "
                    "--shm-size)");
}

}  // namespace

Supervisor::Supervisor(DaemonConfig config, TaskRegistry& registry,
                       ConfigReader reread_config, std::string lock_directory)
    : config_(std::move(config)),
      registry_(registry),
      reread_config_(std::move(reread_config)),
      lock_directory_(std::move(lock_directory)),
      started_(base::SteadyClock::now()),
      started_unix_ms_(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()),
      signals_(io_),
      shutdown_timer_(io_),
      ready_timer_(io_),
      reserve_timer_(io_),
      systemd_(io_),
      retire_timer_(io_) {}

Supervisor::~Supervisor() = default;

WorkerLimits Supervisor::CurrentWorkerLimits() const {
  return {config_.max_tasks_per_worker, config_.max_worker_rss_mib,
          config_.worker_memory_limit_mib};
}

int Supervisor::Run() {
  Status started = Start();
  if (!started.ok()) {
    TP_LOG(kError) << started.message();
    if (workers_) workers_->StopAll(SIGKILL);
    return 1;
  }
  io_.run();
  TP_LOG(kInfo) << "stopped";
  return 0;
}

shmq::QueueGeometry Supervisor::QueueGeometryFor(const DaemonConfig& config) {
  shmq::QueueGeometry geometry;
  geometry.capacity = config.queue_capacity;
  geometry.max_workers = WorkerPool::RoomFor(config.workers);
  geometry.inline_bytes = config.inline_payload_bytes;
  geometry.max_payload_bytes = config.max_payload_bytes;
  return geometry;
}

Status Supervisor::CheckQueueFits(const DaemonConfig& config) {
  return ExplainQueueStatus(shmq::Segment::CheckFits(QueueGeometryFor(config)));
}

Status Supervisor::Start() {
  // Pings start at once: forking and attaching the workers counts too.
  systemd_.StartWatchdog();
  Result<std::unique_ptr<shmq::SupervisorQueue>> queue =
      shmq::SupervisorQueue::Create(QueueGeometryFor(config_));
  if (!queue.ok()) return ExplainQueueStatus(queue.status());
  queue_ = std::move(queue.value());
  // Blobs kept past their tasks for the next large payload of the slot:
  // an eighth of /dev/shm (new blobs need the rest), at most 256 MiB.
  queue_->KeepBlobs(std::min<uint64_t>(256ull << 20, shmq::ShmSizeBytes() / 8));
  router_queue_ = std::make_unique<ShmqQueueAdapter>(*queue_);
  router_ = std::make_unique<TaskRouter>(
      *router_queue_, router_clock_, registry_, config_,
      [this](uint32_t index) { workers_->Kill(index); });

  // Fork before anything else exists: no threads, no sockets to leak.
  workers_ = std::make_unique<WorkerPool>(
      queue_->segment(), registry_, config_.workers,
      CurrentWorkerLimits());
  const uint32_t entries = WorkerPool::RoomFor(config_.workers);
  respawn_policy_ = std::make_unique<RespawnPolicy>(entries, config_.crash_rate_threshold);
  for (uint32_t index = 0; index < entries; ++index) {
    respawn_timers_.push_back(std::make_unique<boost::asio::steady_timer>(io_));
  }
  Status forked = workers_->StartAll();
  if (!forked.ok()) return forked;

  signals_.add(SIGCHLD);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  base::IgnoreSignals({SIGPIPE});
  WaitForSignal();
  // A worker may have died before SIGCHLD had a handler.
  ReapWorkers();

  // Asio closes the descriptor it is given; the queue keeps its own.
  base::UniqueFd results_fd(::fcntl(queue_->results_ready_fd(), F_DUPFD_CLOEXEC, 0));
  if (!results_fd) return ErrnoStatus("dup the queue's results eventfd", errno);
  results_ready_.emplace(io_, results_fd.release());
  WaitForResults();

  server_ = std::make_unique<Server>(io_, config_, static_cast<ConnectionHost&>(*this));
  Status listening = server_->Listen();
  if (!listening.ok()) return listening;
  if (Status http = ServeHttp(); !http.ok()) return http;
  if (Status joined = JoinCluster(); !joined.ok()) return joined;
  TP_LOG(kInfo) << "taskpoold " << TASKPOOL_VERSION << " serving "
                << config_.socket_path << " with " << config_.workers
                << " workers (queue capacity " << config_.queue_capacity
                << ", max payload " << config_.max_payload_bytes << " bytes)";
  SetProcessTitle("taskpoold: supervisor " + config_.socket_path);
  // The first tasks of a fresh daemon come before its reservation: the
  // steps' page allocation (~10 ms of CPU in all for the default queue)
  // would otherwise compete with the workers' start for the CPUs.
  reserve_timer_.expires_after(kReserveQueueAfter);
  reserve_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) ReserveQueueAhead();
  });
  NotifyReadyWhenWorkersUp();
  return Status::Ok();
}

void Supervisor::ReserveQueueAhead() {
  // One step per turn of the event loop, so clients are served between them.
  boost::asio::post(io_, [this] {
    if (queue_ == nullptr || queue_->reservation_complete()) {
      queue_reservation_ended_ = true;
      return;
    }
    if (Status reserved = queue_->ReserveNextSlots(); !reserved.ok()) {
      // /dev/shm filled since the start checked it had room for the queue.
      TP_LOG(kWarning) << reserved.message()
                       << "; the rest of the queue is reserved slot by slot as tasks need it, "
                          "and a task whose slot finds no room fails with SHARED_MEMORY_FULL";
      queue_reservation_ended_ = true;
      return;
    }
    ReserveQueueAhead();
  });
}

Status Supervisor::ServeHttp() {
  if (!config_.http_listen) return Status::Ok();
  auto current_status = [this] {
    v1::StatusReply status;
    FillStatus(&status);
    return status;
  };
  http_server_ = std::make_unique<HttpServer>(io_, StatusRoutes(std::move(current_status)),
                                              config_.http_listen_option);
  Status listening = http_server_->Listen(*config_.http_listen);
  if (!listening.ok()) return listening;
  const boost::asio::ip::tcp::endpoint bound = http_server_->local_endpoint();
  // The real port, when 0 was asked for: scrape configs and tests read it here.
  TP_LOG(kInfo) << "serving HTTP on http://"
                << ListenAddress{bound.address().to_string(), bound.port()}.ToString()
                << "/ (the status page; /status.json, /metrics)";
  return Status::Ok();
}

Status Supervisor::JoinCluster() {
  if (!config_.cluster.enabled()) return Status::Ok();
  // The agent is our child too: not a stray of a dead worker's job.
  workers_->SetOtherChildren(
      [this](pid_t pid) { return cluster_ != nullptr && cluster_->agent_pid() == pid; });
  cluster_ = std::make_unique<cluster::ClusterNode>(
      io_, config_, registry_, *router_,
      [this](boost::asio::local::stream_protocol::socket socket) {
        return server_->Adopt(std::move(socket))->id();
      });
  router_->SetRemoteExecution(&cluster_->remote());
  Status started = cluster_->Start();
  ReportClusterLoad();
  return started;
}

void Supervisor::ReportClusterLoad() {
  if (!cluster_ || load_report_posted_) return;
  // Once per turn of the event loop, after everything it handled (a read's
  // worth of submissions, a round of results), rather than once for each.
  load_report_posted_ = true;
  boost::asio::post(io_, [this] {
    load_report_posted_ = false;
    cluster::LocalLoad load;
    const uint32_t waiting = static_cast<uint32_t>(router_->waiting());
    const uint32_t in_use = queue_->in_use() + waiting;
    const uint32_t live =
        static_cast<uint32_t>(std::min<size_t>(workers_->live_count(), config_.workers));
    load.free_workers = phase_ == Phase::kServing && live > in_use ? live - in_use : 0;
    load.queued = queue_->depth() + waiting;
    load.busy = in_use > load.queued ? in_use - load.queued : 0;
    load.draining = phase_ != Phase::kServing;
    cluster_->ReportLoad(load);
  });
}

bool Supervisor::AllWorkersUp() {
  for (const WorkerEntry& entry : workers_->entries()) {
    if (entry.state == WorkerEntry::State::kSpare) continue;
    if (entry.state != WorkerEntry::State::kRunning) return false;
    if (queue_->activity(entry.index).pid != entry.pid) return false;  // attaching
  }
  return true;
}

void Supervisor::NotifyReadyWhenWorkersUp() {
  if (!systemd_.enabled() || phase_ != Phase::kServing) return;
  if (AllWorkersUp() && queue_reservation_ended_) {
    systemd_.Ready([this] { return DescribeForSystemd(); });
    return;
  }
  // Workers attach, and the queue is reserved, within milliseconds of the
  // fork; polling is simpler than a notification channel used once.
  ready_timer_.expires_after(std::chrono::milliseconds(10));
  ready_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) NotifyReadyWhenWorkersUp();
  });
}

std::string Supervisor::DescribeForSystemd() {
  v1::StatusReply status;
  FillStatus(&status);
  uint32_t up = 0;
  for (const v1::WorkerStatus& worker : status.workers()) {
    if (wire::WorkerIsUp(worker.worker_state())) ++up;
  }
  return std::to_string(up) + "/" + std::to_string(config_.workers) + " workers, " +
         std::to_string(status.queue_depth()) + " queued, " +
         std::to_string(status.running()) + " running, " +
         std::to_string(status.tasks_succeeded() + status.tasks_failed() +
                        status.tasks_cancelled()) +
         " done, " +
         std::to_string(status.connections()) + " clients";
}

void Supervisor::WaitForSignal() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;  // cancelled at shutdown
    OnSignal(signal_number);
    if (phase_ != Phase::kFinished) WaitForSignal();
  });
}

void Supervisor::OnSignal(int signal_number) {
  switch (signal_number) {
    case SIGCHLD:
      ReapWorkers();
      break;
    case SIGTERM:
    case SIGINT:
      if (phase_ == Phase::kServing) {
        BeginShutdown(signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
      } else {
        ForceShutdown("second stop signal");
      }
      break;
    case SIGHUP:
      if (phase_ == Phase::kServing) Reload();
      break;
  }
}

void Supervisor::WaitForResults() {
  results_ready_->async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this](const boost::system::error_code& error) {
        if (error) return;  // closed at shutdown
        {
          // Each connection's results of this round leave in one write.
          ClientSession::WriteRound round;
          router_->CollectResults();
        }
        ReportClusterLoad();
        StopWorkersIfDrained();
        if (phase_ != Phase::kFinished) WaitForResults();
      });
}

void Supervisor::OnHello(ClientSession& connection, const v1::Hello& hello,
                         v1::HelloReply* reply) {
  TP_LOG(kDebug) << "connection " << connection.id() << ": hello from '"
                 << hello.client_name() << "' (pid " << connection.peer_pid() << ")";
  reply->set_protocol_version(v1::PROTOCOL_VERSION_CURRENT);
  reply->set_server_version(TASKPOOL_VERSION);
  reply->set_max_payload_bytes(config_.max_payload_bytes);
  reply->set_workers(config_.workers);
  reply->set_queue_capacity(config_.queue_capacity);
  reply->set_max_in_flight_per_connection(config_.max_in_flight_per_connection);
}

void Supervisor::OnSubmit(ClientSession& connection, const v1::Submit& submit) {
  router_->Submit(connection, submit);
  ReportClusterLoad();
}

bool Supervisor::HasTasksInFlight(const ClientSession& connection) const {
  return router_->HasTasksInFlight(connection.id());
}

void Supervisor::OnCancel(ClientSession& connection, const v1::Cancel& cancel) {
  router_->Cancel(connection, cancel);
  StopWorkersIfDrained();
}

void Supervisor::OnBuffersChanged(ClientSession& connection) {
  router_->ConnectionBuffersChanged(connection);
}

uint64_t Supervisor::TaskBytes(const ClientSession& connection) const {
  return router_->HeldBytes(connection.id());
}

void Supervisor::OnClosed(ClientSession& connection) {
  const uint64_t task_bytes = router_->HeldBytes(connection.id());
  router_->ConnectionClosed(connection);
  server_->Forget(connection, task_bytes);
  ReportClusterLoad();
  StopWorkersIfDrained();
  // The last connection flushed after shutdown: nothing keeps us any more.
  if (phase_ == Phase::kFinished && server_->connection_count() == 0) {
    shutdown_timer_.cancel();
  }
}

}  // namespace taskpool::daemon
