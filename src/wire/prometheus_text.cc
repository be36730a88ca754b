#include "wire/prometheus_text.h"
#include "wire/worker_state.h"

#include <charconv>
#include <sstream>
#include <string_view>

namespace taskpool::wire {

namespace {

// A label value with \, " and newline escaped as the format requires.
std::string Label(std::string_view name, std::string_view value) {
  std::string label(name);
  label += "=\"";
  for (char c : value) {
    if (c == '\\' || c == '"') label += '\\';
    if (c == '\n') {
      label += "\\n";
      continue;
    }
    label += c;
  }
  label += '"';
  return label;
}

std::string Labels(std::initializer_list<std::string> labels) {
  std::string joined;
  for (const std::string& label : labels) {
    if (!joined.empty()) joined += ',';
    joined += label;
  }
  return joined;
}

class Exposition {
 public:
  // Starts a metric family; every sample that follows belongs to it.
  void Family(std::string_view name, std::string_view type,
              std::string_view help) {
    out_ << "# HELP " << name << ' ' << help << '\n'
         << "# TYPE " << name << ' ' << type << '\n';
  }
  // Counters are printed exactly, never in a rounded exponent form.
  void Sample(std::string_view name, uint64_t value,
              const std::string& labels = "") {
    Begin(name, labels);
    out_ << value << '\n';
  }
  void Sample(std::string_view name, double value,
              const std::string& labels = "") {
    Begin(name, labels);
    char text[32];
    const auto [end, error] = std::to_chars(text, text + sizeof text, value);
    out_ << std::string_view(text, static_cast<size_t>(end - text)) << '\n';
  }
  // A summary's samples: quantiles, _sum and _count, all in seconds.
  void Summary(std::string_view name, const v1::LatencySummary& latency,
               const std::string& labels) {
    const std::pair<const char*, uint64_t> quantiles[] = {
        {"0.5", latency.p50_us()},
        {"0.9", latency.p90_us()},
        {"0.99", latency.p99_us()}};
    for (const auto& [quantile, micros] : quantiles) {
      Sample(name, Seconds(micros),
             Labels({labels, Label("quantile", quantile)}));
    }
    Sample(std::string(name) + "_sum", Seconds(latency.sum_us()), labels);
    Sample(std::string(name) + "_count", latency.count(), labels);
  }
  std::string str() const { return out_.str(); }

  static double Seconds(uint64_t micros) {
    return static_cast<double>(micros) / 1e6;
  }

 private:
  void Begin(std::string_view name, const std::string& labels) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ';
  }
  std::ostringstream out_;
};

void RenderTotals(const v1::StatusReply& status, Exposition& e) {
  e.Family("taskpool_tasks_submitted_total", "counter",
           "Tasks accepted by the daemon.");
  e.Sample("taskpool_tasks_submitted_total", status.tasks_submitted());
  e.Family("taskpool_tasks_succeeded_total", "counter", "Tasks that ended OK.");
  e.Sample("taskpool_tasks_succeeded_total", status.tasks_succeeded());
  e.Family("taskpool_tasks_failed_total", "counter",
           "Tasks that ended with any error.");
  e.Sample("taskpool_tasks_failed_total", status.tasks_failed());
  e.Family("taskpool_accept_errors_total", "counter",
           "accept() failures (out of file descriptors or memory); accepting pauses while they last");
  e.Sample("taskpool_accept_errors_total", status.listener().accept_errors());
  e.Family("taskpool_connections_refused_total", "counter",
           "connections refused, by reason");
  e.Sample("taskpool_connections_refused_total", status.listener().refused_not_allowed(),
           Labels({Label("reason", "not_allowed")}));
  e.Sample("taskpool_connections_refused_total", status.listener().refused_too_many(),
           Labels({Label("reason", "too_many_connections")}));
  e.Sample("taskpool_connections_refused_total", status.listener().refused_too_many_for_user(),
           Labels({Label("reason", "too_many_for_user")}));
  e.Family("taskpool_workers_died_total", "counter",
           "Worker processes that died unexpectedly.");
  e.Sample("taskpool_workers_died_total", status.workers_died());
  e.Family("taskpool_queue_depth", "gauge", "Tasks waiting for a worker.");
  e.Sample("taskpool_queue_depth", uint64_t{status.queue_depth()});
  e.Family("taskpool_queue_capacity", "gauge",
           "Tasks that may be queued or running at once.");
  e.Sample("taskpool_queue_capacity", uint64_t{status.queue_capacity()});
  e.Family("taskpool_tasks_running", "gauge", "Tasks running on a worker now.");
  e.Sample("taskpool_tasks_running", uint64_t{status.running()});
  e.Family("taskpool_connections", "gauge", "Client connections open now.");
  e.Sample("taskpool_connections", uint64_t{status.connections()});
  e.Family("taskpool_uptime_seconds", "gauge",
           "Seconds since the daemon started.");
  e.Sample("taskpool_uptime_seconds",
           static_cast<double>(status.uptime_ms()) / 1000.0);
}

void RenderWorkers(const v1::StatusReply& status, Exposition& e) {
  const auto worker_label = [](const v1::WorkerStatus& worker) {
    return Label("worker", std::to_string(worker.index()));
  };
  const auto worker_and_pid = [&](const v1::WorkerStatus& worker) {
    return Labels(
        {worker_label(worker), Label("pid", std::to_string(worker.pid()))});
  };
  e.Family("taskpool_worker_tasks_done_total", "counter",
           "Tasks run by the current process of each worker slot.");
  for (const v1::WorkerStatus& worker : status.workers()) {
    e.Sample("taskpool_worker_tasks_done_total", worker.tasks_done(),
             worker_and_pid(worker));
  }
  e.Family("taskpool_worker_restarts_total", "counter",
           "Restarts of each worker slot.");
  for (const v1::WorkerStatus& worker : status.workers()) {
    e.Sample("taskpool_worker_restarts_total", uint64_t{worker.restarts()},
             worker_label(worker));
  }
  e.Family("taskpool_worker_busy", "gauge", "1 while the worker runs a task.");
  for (const v1::WorkerStatus& worker : status.workers()) {
    e.Sample("taskpool_worker_busy", uint64_t{worker.worker_state() == v1::WORKER_STATE_BUSY},
             Labels({worker_label(worker),
                     Label("state", WorkerStateName(worker.worker_state()))}));
  }
  e.Family("taskpool_worker_resident_memory_bytes", "gauge",
           "Resident set size of each worker process.");
  for (const v1::WorkerStatus& worker : status.workers()) {
    e.Sample("taskpool_worker_resident_memory_bytes", worker.rss_bytes(),
             worker_and_pid(worker));
  }
  e.Family(
      "taskpool_worker_cpu_seconds_total", "counter",
      "CPU time used by the current process of each worker slot, by mode.");
  for (const v1::WorkerStatus& worker : status.workers()) {
    for (const auto& [mode, millis] :
         {std::pair{"user", worker.cpu_user_ms()},
          std::pair{"system", worker.cpu_system_ms()}}) {
      e.Sample("taskpool_worker_cpu_seconds_total",
               static_cast<double>(millis) / 1000.0,
               Labels({worker_and_pid(worker), Label("mode", mode)}));
    }
  }
}

void RenderFunctions(const v1::StatusReply& status, Exposition& e) {
  const auto function_label = [](const v1::FunctionStatus& function) {
    return Label("function", function.name());
  };
  e.Family("taskpool_function_tasks_submitted_total", "counter",
           "Tasks submitted, by function.");
  for (const v1::FunctionStatus& function : status.functions()) {
    e.Sample("taskpool_function_tasks_submitted_total", function.submitted(),
             function_label(function));
  }
  e.Family("taskpool_function_tasks_succeeded_total", "counter",
           "Tasks that ended OK, by function.");
  for (const v1::FunctionStatus& function : status.functions()) {
    e.Sample("taskpool_function_tasks_succeeded_total", function.succeeded(),
             function_label(function));
  }
  e.Family("taskpool_function_tasks_failed_total", "counter",
           "Tasks that ended with an error, by function and error code.");
  for (const v1::FunctionStatus& function : status.functions()) {
    for (const v1::ErrorCount& failed : function.failed()) {
      e.Sample("taskpool_function_tasks_failed_total", failed.count(),
               Labels({function_label(function),
                       Label("code", v1::ErrorCode_Name(failed.code()))}));
    }
  }
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
  for (const Latency& latency : latencies) {
    e.Family(latency.name, "summary", latency.help);
    for (const v1::FunctionStatus& function : status.functions()) {
      e.Summary(latency.name, (function.*latency.field)(),
                function_label(function));
    }
    const std::string max_name = std::string(latency.name) + "_max";
    e.Family(max_name, "gauge", "The longest of those times so far.");
    for (const v1::FunctionStatus& function : status.functions()) {
      e.Sample(max_name,
               Exposition::Seconds((function.*latency.field)().max_us()),
               function_label(function));
    }
  }
}

}  // namespace

std::string RenderPrometheusText(const v1::StatusReply& status) {
  Exposition exposition;
  RenderTotals(status, exposition);
  RenderWorkers(status, exposition);
  RenderFunctions(status, exposition);
  return exposition.str();
}

}  // namespace taskpool::wire
