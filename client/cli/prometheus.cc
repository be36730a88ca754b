#include "client/cli/prometheus.h"

#include <sstream>

namespace taskpool::cli {

namespace {

class Exposition {
 public:
  // Starts a metric family; every sample that follows belongs to it.
  void Family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << '\n'
         << "# TYPE " << name << ' ' << type << '\n';
  }
  void Sample(const std::string& name, double value, const std::string& labels = "") {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << value << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// A label value with \, " and newline escaped as the format requires.
std::string Label(const std::string& name, const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return name + "=\"" + escaped + "\"";
}

}  // namespace

std::string FormatPrometheus(const PoolStatus& status) {
  Exposition e;
  e.Family("taskpool_tasks_submitted_total", "counter", "Tasks accepted by the daemon.");
  e.Sample("taskpool_tasks_submitted_total", static_cast<double>(status.tasks_submitted));
  e.Family("taskpool_tasks_succeeded_total", "counter", "Tasks that ended OK.");
  e.Sample("taskpool_tasks_succeeded_total", static_cast<double>(status.tasks_succeeded));
  e.Family("taskpool_tasks_failed_total", "counter", "Tasks that ended with any error.");
  e.Sample("taskpool_tasks_failed_total", static_cast<double>(status.tasks_failed));
  e.Family("taskpool_workers_died_total", "counter", "Worker processes that died unexpectedly.");
  e.Sample("taskpool_workers_died_total", static_cast<double>(status.workers_died));
  e.Family("taskpool_queue_depth", "gauge", "Tasks waiting for a worker.");
  e.Sample("taskpool_queue_depth", status.queue_depth);
  e.Family("taskpool_queue_capacity", "gauge", "Tasks that may be queued or running at once.");
  e.Sample("taskpool_queue_capacity", status.queue_capacity);
  e.Family("taskpool_tasks_running", "gauge", "Tasks running on a worker now.");
  e.Sample("taskpool_tasks_running", status.running);
  e.Family("taskpool_connections", "gauge", "Client connections open now.");
  e.Sample("taskpool_connections", status.connections);
  e.Family("taskpool_uptime_seconds", "gauge", "Seconds since the daemon started.");
  e.Sample("taskpool_uptime_seconds", static_cast<double>(status.uptime.count()) / 1000.0);
  e.Family("taskpool_worker_tasks_done_total", "counter",
           "Tasks run by the current process of each worker slot.");
  for (const WorkerInfo& worker : status.workers) {
    e.Sample("taskpool_worker_tasks_done_total", static_cast<double>(worker.tasks_done),
             Label("worker", std::to_string(worker.index)) + "," +
                 Label("pid", std::to_string(worker.pid)));
  }
  e.Family("taskpool_worker_restarts_total", "counter", "Restarts of each worker slot.");
  for (const WorkerInfo& worker : status.workers) {
    e.Sample("taskpool_worker_restarts_total", worker.restarts,
             Label("worker", std::to_string(worker.index)));
  }
  e.Family("taskpool_worker_busy", "gauge", "1 while the worker runs a task.");
  for (const WorkerInfo& worker : status.workers) {
    e.Sample("taskpool_worker_busy", worker.state == "busy" ? 1 : 0,
             Label("worker", std::to_string(worker.index)) + "," +
                 Label("state", worker.state));
  }
  return e.str();
}

}  // namespace taskpool::cli
