#include "client/wire_convert.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <limits>

#include "base/clock.h"
#include "wire/chunk_wire.h"
#include "wire/error_code.h"
#include "wire/worker_state.h"

namespace taskpool {

// The public enum is the wire's, value for value, so converting is a cast;
// these keep it so.
#define TASKPOOL_SAME_STATE(code, name)                                       \
  static_assert(static_cast<int>(WorkerState::code) == static_cast<int>(v1::name), \
                "taskpool::WorkerState::" #code " and taskpool.v1." #name " differ");
TASKPOOL_SAME_STATE(kUnknown, WORKER_STATE_UNSPECIFIED)
TASKPOOL_SAME_STATE(kStarting, WORKER_STATE_STARTING)
TASKPOOL_SAME_STATE(kIdle, WORKER_STATE_IDLE)
TASKPOOL_SAME_STATE(kBusy, WORKER_STATE_BUSY)
TASKPOOL_SAME_STATE(kDead, WORKER_STATE_DEAD)
TASKPOOL_SAME_STATE(kStopped, WORKER_STATE_STOPPED)
#undef TASKPOOL_SAME_STATE
static_assert(v1::WorkerState_MAX == v1::WORKER_STATE_STOPPED,
              "a new taskpool.v1.WorkerState needs a taskpool::WorkerState");

// Declared in client.hpp; one list of names, the wire's.
std::string_view WorkerStateName(WorkerState state) {
  return wire::WorkerStateName(static_cast<v1::WorkerState>(state));
}

}  // namespace taskpool

namespace taskpool::client {

WorkerState FromWireWorkerState(int wire_state) {
  if (wire_state <= v1::WORKER_STATE_UNSPECIFIED || wire_state > v1::WorkerState_MAX) {
    return WorkerState::kUnknown;
  }
  return static_cast<WorkerState>(wire_state);
}

namespace {

LatencyInfo FromWireLatency(const v1::LatencySummary& summary) {
  return {summary.count(), base::FromWireMicros(summary.p50_us()),
          base::FromWireMicros(summary.p90_us()), base::FromWireMicros(summary.p99_us()),
          base::FromWireMicros(summary.max_us())};
}

// A Result timestamp: 0 (never ran) is the epoch, as TaskResult says.
std::chrono::system_clock::time_point WallTimeFromWire(uint64_t unix_us) {
  return base::WallTimeFromUnixMicros(static_cast<int64_t>(
      std::min<uint64_t>(unix_us, std::numeric_limits<int64_t>::max())));
}

// Everything but the output.
TaskResult FromWireEnvelope(const v1::Result& result) {
  TaskResult out;
  out.code = wire::FromWireCode(result.code());
  out.error = result.error();
  out.worker_pid = result.worker_pid();
  out.node = result.node();
  out.queue_time = base::FromWireMicros(result.queue_us());
  out.run_time = base::FromWireMicros(result.run_us());
  out.attempts = result.attempts();
  out.started = WallTimeFromWire(result.started_unix_us());
  out.finished = WallTimeFromWire(result.finished_unix_us());
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
        out.code = item.code;
        out.error = item.error;
        out.output = item.output;
        out.run_time = base::FromWireMicros(item.run_us);
      });
  if (!read.ok() || results.size() != items) {
    return std::vector<TaskResult>(items, MalformedChunkResult(items));
  }
  return results;
}

TaskResult MalformedChunkResult(size_t items) {
  return FailedResult(ErrorCode::kInternal,
                      "taskpoold answered a chunk of " + std::to_string(items) +
                          " items with an output that does not hold one outcome per item");
}

std::vector<TaskResult> ChunkResults::Split() && {
  if (const v1::Result* chunk = std::get_if<v1::Result>(&outcome)) {
    return FromWireChunkResult(*chunk, items);
  }
  TaskResult& every = std::get<TaskResult>(outcome);
  if (items == 1) {
    std::vector<TaskResult> one;
    one.push_back(std::move(every));
    return one;
  }
  return std::vector<TaskResult>(items, every);
}

PoolStatus FromWireStatus(const v1::StatusReply& reply) {
  PoolStatus out;
  out.workers.reserve(reply.workers_size());
  for (const v1::WorkerStatus& worker : reply.workers()) {
    WorkerInfo info;
    info.index = worker.index();
    info.pid = worker.pid();
    info.state = FromWireWorkerState(worker.worker_state());
    info.tasks_done = worker.tasks_done();
    info.current_function = worker.current_function();
    info.current_run_time = base::FromWireMillis(worker.current_run_ms());
    info.restarts = worker.restarts();
    info.last_exit = worker.last_exit();
    info.rss_bytes = worker.rss_bytes();
    info.cpu_user = base::FromWireMillis(worker.cpu_user_ms());
    info.cpu_system = base::FromWireMillis(worker.cpu_system_ms());
    info.retiring = worker.retiring();
    out.workers.push_back(std::move(info));
  }
  out.queue_depth = reply.queue_depth();
  out.queue_capacity = reply.queue_capacity();
  out.running = reply.running();
  out.uptime = base::FromWireMillis(reply.uptime_ms());
  out.connections = reply.connections();
  out.tasks_submitted = reply.tasks_submitted();
  out.tasks_succeeded = reply.tasks_succeeded();
  out.tasks_failed = reply.tasks_failed();
  out.tasks_cancelled = reply.tasks_cancelled();
  out.tasks_in_flight = reply.tasks_in_flight();
  out.workers_died = reply.workers_died();
  out.server_version = reply.server_version();
  out.daemon_pid = reply.daemon_pid();
  for (const v1::FunctionStatus& function : reply.functions()) {
    FunctionInfo info;
    info.name = function.name();
    info.submitted = function.submitted();
    info.succeeded = function.succeeded();
    for (const v1::ErrorCount& failed : function.failed()) {
      info.failed.emplace_back(wire::FromWireCode(failed.code()), failed.count());
    }
    info.cancelled = function.cancelled();
    info.in_flight = function.in_flight();
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
                                   base::FromWireMillis(node.last_heartbeat_ms()),
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
  out.max_in_flight_per_connection = reply.max_in_flight_per_connection();
  return out;
}

void ToWireSubmit(std::string_view function, std::string_view payload,
                  const SubmitOptions& options, v1::Submit* submit) {
  submit->set_function(std::string(function));
  submit->set_payload(std::string(payload));
  submit->set_lock(options.lock);
  submit->set_timeout_ms(base::WireMillis32(options.timeout));
  submit->set_deadline_ms(base::WireMillis32(options.deadline));
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
