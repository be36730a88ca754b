#include "client/wire_convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <limits>

#include "wire/chunk_wire.h"

namespace taskpool::client {

namespace {

LatencyInfo FromWireLatency(const v1::LatencySummary& summary) {
  return {summary.count(), std::chrono::microseconds(summary.p50_us()),
          std::chrono::microseconds(summary.p90_us()), std::chrono::microseconds(summary.p99_us()),
          std::chrono::microseconds(summary.max_us())};
}

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

namespace {

// Everything but the output.
TaskResult FromWireEnvelope(const v1::Result& result) {
  TaskResult out;
  out.code = FromWireCode(result.code());
  out.error = result.error();
  out.worker_pid = result.worker_pid();
  out.node = result.node();
  out.queue_time = std::chrono::microseconds(result.queue_us());
  out.run_time = std::chrono::microseconds(result.run_us());
  out.attempts = result.attempts();
  out.started_unix_us = static_cast<int64_t>(result.started_unix_us());
  out.finished_unix_us = static_cast<int64_t>(result.finished_unix_us());
  return out;
}

}  // namespace

TaskResult FromWireResult(v1::Result&& result) {
  TaskResult out = FromWireEnvelope(result);
  out.output = std::move(*result.mutable_output());
  return out;
}

std::vector<TaskResult> FromWireChunkResult(const v1::Result& result, size_t items) {
  TaskResult chunk = FromWireEnvelope(result);
  if (!chunk.ok()) return std::vector<TaskResult>(items, chunk);
  chunk.output.clear();
  std::vector<TaskResult> results;
  results.reserve(items);
  const Result<uint32_t> read =
      wire::ForEachItemResult(result.output(), [&](const wire::ItemResultView& item) {
        TaskResult& out = results.emplace_back(chunk);
        out.code = FromWireCode(static_cast<int>(item.code));
        out.error = item.error;
        out.output = item.output;
        out.run_time = std::chrono::microseconds(item.run_us);
      });
  if (!read.ok() || results.size() != items) {
    return std::vector<TaskResult>(
        items, FailedResult(ErrorCode::kInternal,
                            "taskpoold answered a chunk of " + std::to_string(items) +
                                " items with an output that does not hold one "
                                "outcome per item"));
  }
  return results;
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
    info.rss_bytes = worker.rss_bytes();
    info.cpu_user = std::chrono::milliseconds(worker.cpu_user_ms());
    info.cpu_system = std::chrono::milliseconds(worker.cpu_system_ms());
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
  for (const v1::FunctionStatus& function : reply.functions()) {
    FunctionInfo info;
    info.name = function.name();
    info.submitted = function.submitted();
    info.succeeded = function.succeeded();
    for (const v1::ErrorCount& failed : function.failed()) {
      info.failed.emplace_back(static_cast<ErrorCode>(failed.code()), failed.count());
    }
    info.queue_wait = FromWireLatency(function.queue_wait());
    info.run_time = FromWireLatency(function.run_time());
    out.functions.push_back(std::move(info));
  }
  for (const v1::UserStatus& user : reply.users()) {
    out.users.push_back({user.uid(), user.name(), user.in_flight(), user.held()});
  }
  out.max_in_flight_per_user = reply.max_in_flight_per_user();
  out.slowlog_ms = reply.slowlog_ms();
  if (reply.has_cluster()) {
    const v1::ClusterStatus& cluster = reply.cluster();
    out.cluster.enabled = true;
    out.cluster.node = cluster.node();
    out.cluster.queue = cluster.queue();
    out.cluster.connected = cluster.connected();
    out.cluster.problem = cluster.problem();
    for (const v1::NodeStatus& node : cluster.nodes()) {
      out.cluster.nodes.push_back({node.name(), node.workers(), node.busy(), node.queued(),
                                   std::chrono::milliseconds(node.last_heartbeat_ms()),
                                   node.self()});
    }
    out.cluster.published = cluster.published();
    out.cluster.remote_results = cluster.remote_results();
    out.cluster.remote_in_flight = cluster.remote_in_flight();
    out.cluster.fetched = cluster.fetched();
    out.cluster.redelivered = cluster.redelivered();
  }
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

uint64_t ChunkPayloadBytes(std::span<const std::string_view> items) {
  using google::protobuf::internal::WireFormatLite;
  uint64_t bytes = 0;
  for (std::string_view item : items) {
    bytes += WireFormatLite::TagSize(v1::ChunkPayload::kItemsFieldNumber,
                                     WireFormatLite::TYPE_BYTES) +
             google::protobuf::io::CodedOutputStream::VarintSize64(item.size()) +
             item.size();
  }
  return bytes;
}

void ToWireChunk(std::string_view function, std::span<const std::string_view> items,
                 const SubmitOptions& options, v1::Submit* submit) {
  ToWireSubmit(function, {}, options, submit);
  // Encoded straight into the payload (a v1::ChunkPayload would copy each
  // item into a string of its own first), reserved to its exact size.
  std::string* payload = submit->mutable_payload();
  payload->reserve(ChunkPayloadBytes(items));
  for (std::string_view item : items) wire::AppendChunkItem(item, payload);
  submit->set_chunk(true);
}

TaskResult FailedResult(ErrorCode code, std::string message) {
  TaskResult out;
  out.code = code;
  out.error = std::move(message);
  return out;
}

}  // namespace taskpool::client
