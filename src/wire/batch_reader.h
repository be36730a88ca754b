// A SubmitBatch read one task at a time, straight from its frame's bytes.
//
// Parsed whole, a batch costs ten to forty times its wire size in message
// objects (a frame of a million small tasks: hundreds of MB), and all of
// them would be held while --max-in-flight admits the tasks a few at a
// time. Read task by task, the daemon holds the frame's bytes and one
// parsed Submit, so a batch costs about what it weighs on the wire.
//
// Thread-safety: plain functions on caller-owned data.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// The bytes of the SubmitBatch that `client_message` (a ClientMessage's
// serialized body) consists of, if it is exactly one submit_batch field
// whose every field is well framed; nullopt otherwise (any other message,
// or one to parse whole, which reports what is wrong with it).
std::optional<std::string_view> SoleSubmitBatch(std::string_view client_message);

enum class BatchStep { kTask, kEnd, kError };

// Parses the task at `*offset` of `batch` (bytes SoleSubmitBatch returned)
// into `task` and moves `*offset` past it, skipping fields that are not
// tasks. kEnd when no task is left; kError sets `error` (MALFORMED_FRAME)
// when a task does not parse as a Submit.
BatchStep NextBatchTask(std::string_view batch, size_t* offset, v1::Submit* task, Status* error);

}  // namespace taskpool::wire
