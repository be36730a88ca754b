// Frames a task's result for the client without first copying the output
// into the v1::Result: the output is appended to the frame straight from
// where the worker left it (shared memory), one copy instead of three
// (set_output, AppendFrame's zero-fill, its serialization).
#pragma once

#include <string>
#include <string_view>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// Appends one delimited ServerMessage frame whose `result` is `result` with
// `output` as its output field. REQUIRES: result.output() is empty.
// The bytes parse exactly as a ServerMessage built with set_output would
// (protobuf accepts fields in any order).
void AppendResultFrame(const v1::Result& result, std::string_view output,
                       std::string* out);

}  // namespace taskpool::wire
