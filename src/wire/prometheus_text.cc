#include "wire/prometheus_text.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "wire/latency_buckets.h"
#include "wire/worker_state.h"

namespace taskpool::wire {

namespace {

using prometheus::Labels;

double Seconds(uint64_t micros) { return static_cast<double>(micros) / 1e6; }

// Families are built on first use; each metric is set once per render.
class Metrics {
 public:
  void Counter(const std::string& name, const std::string& help, double value,
               const Labels& labels = {}) {
    prometheus::BuildCounter().Name(name).Help(help).Register(registry_).Add(labels).Increment(
        value);
  }
  // For families with several samples: the family, built once.
  prometheus::Family<prometheus::Counter>& Counters(const std::string& name,
                                                   const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry_);
  }
  prometheus::Family<prometheus::Gauge>& Gauges(const std::string& name,
                                               const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry_);
  }
  void Gauge(const std::string& name, const std::string& help, double value,
             const Labels& labels = {}) {
    Gauges(name, help).Add(labels).Set(value);
  }
  prometheus::Family<prometheus::Histogram>& Histograms(const std::string& name,
                                                       const std::string& help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry_);
  }
  std::string Text() const { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

 private:
  prometheus::Registry registry_;
};

void RenderTotals(const v1::StatusReply& status, Metrics& m) {
  m.Gauge("taskpool_build_info", "Always 1; the daemon's version is the label.", 1,
          {{"version", status.server_version()}});
  m.Gauge("process_start_time_seconds",
          "Start time of the daemon process since the Unix epoch in seconds.",
          static_cast<double>(status.start_time_unix_ms()) / 1000.0);
  m.Counter("taskpool_tasks_submitted_total", "Tasks accepted by the daemon.",
            static_cast<double>(status.tasks_submitted()));
  m.Counter("taskpool_tasks_succeeded_total", "Tasks that ended OK.",
            static_cast<double>(status.tasks_succeeded()));
  m.Counter("taskpool_tasks_failed_total",
            "Tasks that ended with an error other than CANCELLED.",
            static_cast<double>(status.tasks_failed()));
  auto& cancelled = m.Counters(
      "taskpool_tasks_cancelled_total",
      "Tasks cancelled, by reason: client, disconnect (dropped with their connection), "
      "shutdown, no_workers, function. submitted = succeeded + failed + cancelled + in "
      "flight.");
  for (const v1::CancelCount& reason : status.tasks_cancelled_by_reason()) {
    cancelled.Add({{"reason", reason.reason()}}).Increment(static_cast<double>(reason.count()));
  }
  m.Gauge("taskpool_tasks_in_flight",
          "Tasks accepted and not yet ended (queued, waiting, running, on another node).",
          static_cast<double>(status.tasks_in_flight()));
  m.Counter("taskpool_accept_errors_total",
            "accept() failures (out of file descriptors or memory); accepting pauses while "
            "they last",
            static_cast<double>(status.listener().accept_errors()));
  auto& refused = m.Counters("taskpool_connections_refused_total",
                             "connections refused, by reason");
  refused.Add({{"reason", "not_allowed"}})
      .Increment(static_cast<double>(status.listener().refused_not_allowed()));
  refused.Add({{"reason", "too_many_connections"}})
      .Increment(static_cast<double>(status.listener().refused_too_many()));
  refused.Add({{"reason", "too_many_for_user"}})
      .Increment(static_cast<double>(status.listener().refused_too_many_for_user()));
  m.Counter("taskpool_workers_died_total",
            "Worker processes that died without being asked to (crash, outside signal, OOM "
            "killer); planned ends are in taskpool_workers_replaced_total.",
            static_cast<double>(status.workers_died()));
  auto& replaced = m.Counters(
      "taskpool_workers_replaced_total",
      "Worker processes ended on purpose and replaced, by reason: reload (SIGHUP), "
      "max_tasks, max_rss, killed (to end a task: timeout, cancel with kill).");
  for (const v1::WorkerReplacements& reason : status.workers_replaced()) {
    replaced.Add({{"reason", reason.reason()}}).Increment(static_cast<double>(reason.count()));
  }
  m.Gauge("taskpool_queue_depth", "Tasks waiting for a worker.", status.queue_depth());
  m.Gauge("taskpool_queue_capacity", "Tasks that may be queued or running at once.",
          status.queue_capacity());
  m.Gauge("taskpool_tasks_running", "Tasks running on a worker now.", status.running());
  m.Gauge("taskpool_connections", "Client connections open now.", status.connections());
}

// --max-connection-memory-mib and what the connections hold against it:
// in all and the most one holds, not per connection (ids are never reused,
// so a label per connection would grow without end).
void RenderConnectionMemory(const v1::StatusReply& status, Metrics& m) {
  double total = 0;
  double most = 0;
  double paused = 0;
  for (const v1::ConnectionMemory& connection : status.connection_memory()) {
    const auto held = static_cast<double>(connection.held_bytes());
    total += held;
    most = std::max(most, held);
    paused += connection.paused() ? 1 : 0;
  }
  m.Gauge("taskpool_connection_memory_limit_bytes",
          "What the daemon may hold for one connection before it stops reading from it "
          "(--max-connection-memory-mib).",
          static_cast<double>(status.max_connection_memory_bytes()));
  m.Gauge("taskpool_connection_memory_bytes",
          "What the daemon holds for all open connections: unparsed input, their tasks' "
          "submissions, replies not yet written.",
          total);
  m.Gauge("taskpool_connection_memory_max_bytes",
          "What the daemon holds for the open connection that holds the most.", most);
  m.Gauge("taskpool_connections_paused",
          "Open connections the daemon is not reading from (backpressure: --max-in-flight, "
          "the memory budget, or a full queue).",
          paused);
  m.Gauge("taskpool_uptime_seconds", "Seconds since the daemon started.",
          static_cast<double>(status.uptime_ms()) / 1000.0);
}

void RenderWorkers(const v1::StatusReply& status, Metrics& m) {
  std::map<std::string, double> by_state;
  for (const v1::WorkerState state :
       {v1::WORKER_STATE_STARTING, v1::WORKER_STATE_IDLE, v1::WORKER_STATE_BUSY,
        v1::WORKER_STATE_DEAD, v1::WORKER_STATE_STOPPED}) {
    by_state[std::string(WorkerStateName(state))] = 0;
  }
  auto& done = m.Counters("taskpool_worker_tasks_done_total",
                          "Tasks run by the current process of each worker (restarts at 0 "
                          "with a new process).");
  auto& restarts = m.Counters("taskpool_worker_restarts_total", "Restarts of each worker.");
  auto& busy = m.Gauges("taskpool_worker_busy", "1 while the worker runs a task.");
  auto& rss = m.Gauges("taskpool_worker_resident_memory_bytes",
                       "Resident set size of each worker process.");
  auto& cpu = m.Counters("taskpool_worker_cpu_seconds_total",
                         "CPU time used by the current process of each worker, by mode.");
  auto& pid = m.Gauges("taskpool_worker_pid",
                       "The process id of each worker now (a value, not a label, so "
                       "series survive respawns).");
  for (const v1::WorkerStatus& worker : status.workers()) {
    if (worker.retiring()) continue;  // its replacement has the same number
    by_state[std::string(WorkerStateName(worker.worker_state()))] += 1;
    const Labels labels{{"worker", std::to_string(worker.number())}};
    done.Add(labels).Increment(static_cast<double>(worker.tasks_done()));
    restarts.Add(labels).Increment(worker.restarts());
    busy.Add(labels).Set(worker.worker_state() == v1::WORKER_STATE_BUSY ? 1 : 0);
    rss.Add(labels).Set(static_cast<double>(worker.rss_bytes()));
    pid.Add(labels).Set(worker.pid());
    cpu.Add({{"worker", labels.at("worker")}, {"mode", "user"}})
        .Increment(static_cast<double>(worker.cpu_user_ms()) / 1000.0);
    cpu.Add({{"worker", labels.at("worker")}, {"mode", "system"}})
        .Increment(static_cast<double>(worker.cpu_system_ms()) / 1000.0);
  }
  auto& workers = m.Gauges("taskpool_workers", "Workers in the pool, by state.");
  for (const auto& [state, count] : by_state) workers.Add({{"state", state}}).Set(count);
}

void AddHistogram(prometheus::Family<prometheus::Histogram>& family, const Labels& labels,
                  const v1::LatencySummary& latency) {
  static const prometheus::Histogram::BucketBoundaries bounds = [] {
    prometheus::Histogram::BucketBoundaries seconds;
    for (const uint64_t micros : kLatencyBucketBoundsUs) seconds.push_back(Seconds(micros));
    return seconds;
  }();
  std::vector<double> counts(bounds.size() + 1, 0);
  for (int i = 0; i < latency.bucket_counts_size() && i < static_cast<int>(counts.size()); ++i) {
    counts[static_cast<size_t>(i)] = static_cast<double>(latency.bucket_counts(i));
  }
  family.Add(labels, bounds).ObserveMultiple(counts, Seconds(latency.sum_us()));
}

void RenderFunctions(const v1::StatusReply& status, Metrics& m) {
  auto& submitted =
      m.Counters("taskpool_function_tasks_submitted_total", "Tasks submitted, by function.");
  auto& succeeded = m.Counters("taskpool_function_tasks_succeeded_total",
                               "Tasks that ended OK, by function.");
  auto& failed = m.Counters("taskpool_function_tasks_failed_total",
                            "Tasks that ended with an error other than CANCELLED, by function "
                            "and error code.");
  auto& cancelled = m.Counters("taskpool_function_tasks_cancelled_total",
                               "Tasks cancelled, by function and reason.");
  auto& in_flight = m.Gauges("taskpool_function_tasks_in_flight",
                             "Tasks accepted and not yet ended, by function.");
  struct Latency {
    const char* name;
    const char* help;
    const v1::LatencySummary& (v1::FunctionStatus::*field)() const;
  };
  const Latency latencies[] = {
      {"taskpool_function_queue_wait_seconds",
       "Time from the daemon accepting a task to a worker starting it.",
       &v1::FunctionStatus::queue_wait},
      {"taskpool_function_run_seconds", "Time a task's function ran.",
       &v1::FunctionStatus::run_time},
  };
  for (const v1::FunctionStatus& function : status.functions()) {
    const Labels labels{{"function", function.name()}};
    submitted.Add(labels).Increment(static_cast<double>(function.submitted()));
    succeeded.Add(labels).Increment(static_cast<double>(function.succeeded()));
    for (const v1::ErrorCount& error : function.failed()) {
      failed.Add({{"function", function.name()}, {"code", v1::ErrorCode_Name(error.code())}})
          .Increment(static_cast<double>(error.count()));
    }
    for (const v1::CancelCount& reason : function.cancelled_by_reason()) {
      cancelled.Add({{"function", function.name()}, {"reason", reason.reason()}})
          .Increment(static_cast<double>(reason.count()));
    }
    in_flight.Add(labels).Set(static_cast<double>(function.in_flight()));
  }
  for (const Latency& latency : latencies) {
    auto& histograms = m.Histograms(latency.name, latency.help);
    auto& maxima = m.Gauges(std::string(latency.name) + "_max",
                            "The longest of those times so far.");
    for (const v1::FunctionStatus& function : status.functions()) {
      const Labels labels{{"function", function.name()}};
      AddHistogram(histograms, labels, (function.*latency.field)());
      maxima.Add(labels).Set(Seconds((function.*latency.field)().max_us()));
    }
  }
}

// With --cluster: the nodes this daemon sees and the cluster's counters.
void RenderCluster(const v1::ClusterStatus& cluster, Metrics& m) {
  m.Gauge("taskpool_cluster_connected", "1 while connected to NATS with the work queue in place.",
          cluster.connected() ? 1 : 0, {{"node", cluster.node()}});
  m.Gauge("taskpool_cluster_nodes", "Live nodes of the cluster.",
          static_cast<double>(cluster.nodes_size()));
  struct NodeGauge {
    const char* name;
    const char* help;
    uint32_t (v1::NodeStatus::*field)() const;
  };
  const NodeGauge gauges[] = {
      {"taskpool_cluster_node_workers", "Workers of each live node.", &v1::NodeStatus::workers},
      {"taskpool_cluster_node_busy", "Busy workers of each live node.", &v1::NodeStatus::busy},
      {"taskpool_cluster_node_queued", "Tasks queued on each live node.", &v1::NodeStatus::queued},
  };
  for (const NodeGauge& gauge : gauges) {
    auto& family = m.Gauges(gauge.name, gauge.help);
    for (const v1::NodeStatus& node : cluster.nodes()) {
      family.Add({{"node", node.name()}}).Set((node.*gauge.field)());
    }
  }
  auto& heartbeat_age = m.Gauges("taskpool_cluster_node_heartbeat_age_seconds",
                                 "Seconds since each live node's last heartbeat arrived.");
  for (const v1::NodeStatus& node : cluster.nodes()) {
    heartbeat_age.Add({{"node", node.name()}})
        .Set(static_cast<double>(node.last_heartbeat_ms()) / 1000.0);
  }
  const std::pair<const char*, uint64_t> counters[] = {
      {"taskpool_cluster_published_total", cluster.published()},
      {"taskpool_cluster_remote_results_total", cluster.remote_results()},
      {"taskpool_cluster_duplicates_dropped_total", cluster.duplicates_dropped()},
      {"taskpool_cluster_fetched_total", cluster.fetched()},
      {"taskpool_cluster_redelivered_total", cluster.redelivered()},
      {"taskpool_cluster_dropped_total", cluster.dropped()},
      {"taskpool_cluster_lost_total", cluster.lost()},
  };
  for (const auto& [name, value] : counters) {
    m.Counter(name, "See taskpool.v1.ClusterStatus.", static_cast<double>(value));
  }
  m.Gauge("taskpool_cluster_remote_in_flight", "This daemon's clients' tasks out on the work queue.",
          cluster.remote_in_flight());
}

}  // namespace

std::string RenderPrometheusText(const v1::StatusReply& status) {
  Metrics metrics;
  RenderTotals(status, metrics);
  RenderConnectionMemory(status, metrics);
  RenderWorkers(status, metrics);
  RenderFunctions(status, metrics);
  if (status.has_cluster()) RenderCluster(status.cluster(), metrics);
  return metrics.Text();
}

}  // namespace taskpool::wire
