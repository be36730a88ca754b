// A protobuf message as JSON, the one way taskpool prints JSON: protobuf's
// standard JSON mapping (google::protobuf::util::MessageToJsonString). The
// daemon's /status.json and `taskpool --json status` both print a
// v1::StatusReply through it, so the two documents always agree.
#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace taskpool::wire {

// `message` as one line of JSON, without a newline: field names as in the
// .proto (queue_depth, not queueDepth), every field present (zeros and
// empty strings too, so a reader need not know proto3's "absent means
// zero"), enums by name, bytes in base64, and 64-bit integers as strings
// (the mapping's rule: JavaScript numbers would lose precision above 2^53).
std::string MessageJson(const google::protobuf::Message& message);

}  // namespace taskpool::wire
