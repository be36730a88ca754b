#include "client/wire_convert.h"

#include <algorithm>
#include <limits>

namespace taskpool {

namespace {

// The wire carries milliseconds as uint32; clamp instead of wrapping so a
// huge timeout stays huge.
uint32_t ClampMs(std::chrono::milliseconds ms) {
  const auto count = std::max<int64_t>(ms.count(), 0);
  return static_cast<uint32_t>(
      std::min<int64_t>(count, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

ErrorCode FromWireCode(int wire_code) {
  // taskpool::ErrorCode mirrors taskpool.v1.ErrorCode value for value.
  if (!v1::ErrorCode_IsValid(wire_code)) return ErrorCode::kInternal;
  return static_cast<ErrorCode>(wire_code);
}

TaskResult FromWireResult(const v1::Result& result) {
  TaskResult out;
  out.code = FromWireCode(result.code());
  out.error = result.error();
  out.output = result.output();
  out.worker_pid = result.worker_pid();
  out.queue_time = std::chrono::microseconds(result.queue_us());
  out.run_time = std::chrono::microseconds(result.run_us());
  out.attempts = result.attempts();
  out.started_unix_us = static_cast<int64_t>(result.started_unix_us());
  out.finished_unix_us = static_cast<int64_t>(result.finished_unix_us());
  return out;
}

PoolStatus FromWireStatus(const v1::StatusReply& reply) {
  PoolStatus out;
  out.workers.reserve(reply.workers_size());
  for (const v1::WorkerStatus& worker : reply.workers()) {
    WorkerInfo info;
    info.index = worker.index();
    info.pid = worker.pid();
    info.state = worker.state();
    info.tasks_done = worker.tasks_done();
    info.current_function = worker.current_function();
    info.current_run_time = std::chrono::milliseconds(worker.current_run_ms());
    info.restarts = worker.restarts();
    info.last_exit = worker.last_exit();
    out.workers.push_back(std::move(info));
  }
  out.queue_depth = reply.queue_depth();
  out.queue_capacity = reply.queue_capacity();
  out.running = reply.running();
  out.uptime = std::chrono::milliseconds(reply.uptime_ms());
  out.connections = reply.connections();
  out.tasks_submitted = reply.tasks_submitted();
  out.tasks_succeeded = reply.tasks_succeeded();
  out.tasks_failed = reply.tasks_failed();
  out.workers_died = reply.workers_died();
  out.server_version = reply.server_version();
  out.daemon_pid = reply.daemon_pid();
  return out;
}

ServerInfo FromWireHello(const v1::HelloReply& reply) {
  ServerInfo out;
  out.server_version = reply.server_version();
  out.max_payload_bytes = reply.max_payload_bytes();
  out.workers = reply.workers();
  out.queue_capacity = reply.queue_capacity();
  return out;
}

void ToWireSubmit(std::string_view function, std::string_view payload,
                  const SubmitOptions& options, v1::Submit* submit) {
  submit->set_function(std::string(function));
  submit->set_payload(std::string(payload));
  submit->set_lock(options.lock);
  submit->set_timeout_ms(ClampMs(options.timeout));
  submit->set_deadline_ms(ClampMs(options.deadline));
  submit->set_max_retries(options.max_retries);
  submit->set_fail_if_full(options.fail_if_full);
}

TaskResult FailedResult(ErrorCode code, std::string message) {
  TaskResult out;
  out.code = code;
  out.error = std::move(message);
  return out;
}

}  // namespace taskpool
