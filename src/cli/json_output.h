// What `taskpool --json` prints: one record per line in protobuf's standard
// JSON mapping (google::protobuf::util::MessageToJsonString), the same for
// every command. The records are the messages of
// proto/taskpool/v1/cli_output.proto and the wire's StatusReply; their
// JSON Schema is docs/json/taskpool.schema.json. Pure formatting, no I/O.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "taskpool/client.hpp"
#include "taskpool/v1/cli_output.pb.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cli {

// `message` as one line of JSON, without the newline: field names as in
// the .proto, every field present (zeros and empty strings too), bytes in
// base64, enums by name, 64-bit integers as strings.
std::string JsonLine(const google::protobuf::Message& message);

// `result` as the wire message the daemon sent (id 0; see TaskRecord).
v1::Result ToWireResult(const TaskResult& result);

// The record of one task: `function` run on `input`, the `index`-th input.
v1::TaskRecord MakeTaskRecord(std::string_view function, uint64_t index,
                              std::string_view input, const TaskResult& result);

}  // namespace taskpool::cli
