#include "cli/json_output.h"

#include "base/clock.h"
#include "wire/error_code.h"
#include "wire/message_json.h"

namespace taskpool::cli {

std::string JsonLine(const google::protobuf::Message& message) {
  return wire::MessageJson(message);
}

v1::Result ToWireResult(const TaskResult& result) {
  v1::Result wire;
  wire.set_code(wire::ToWireCode(result.code));
  wire.set_error(result.error);
  wire.set_output(result.output);
  wire.set_worker_pid(result.worker_pid);
  wire.set_node(result.node);
  wire.set_queue_us(base::WireMicros(result.queue_time));
  wire.set_run_us(base::WireMicros(result.run_time));
  wire.set_attempts(result.attempts);
  wire.set_started_unix_us(base::WireMicros(result.started.time_since_epoch()));
  wire.set_finished_unix_us(base::WireMicros(result.finished.time_since_epoch()));
  return wire;
}

v1::TaskRecord MakeTaskRecord(std::string_view function, uint64_t index,
                              std::string_view input, const TaskResult& result) {
  v1::TaskRecord record;
  record.set_function(std::string(function));
  record.set_index(index);
  record.set_input(std::string(input));
  record.set_ok(result.ok());
  *record.mutable_result() = ToWireResult(result);
  return record;
}

}  // namespace taskpool::cli
