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

// What a ClientMessage's serialized body is to the batch reader.
struct BatchFrame {
  enum class Kind {
    kNotABatch,  // no submit_batch field: parse it whole
    kBatch,      // exactly one submit_batch field, every field well framed
    // A submit_batch field beside other fields (or a second one, which a
    // whole parse would merge), or one badly framed: refused rather than
    // parsed whole, which would cost 10-40x the frame's size.
    kMalformed,
  };
  Kind kind = Kind::kNotABatch;
  std::string_view batch;  // kBatch: the SubmitBatch's bytes
};
BatchFrame ReadBatchFrame(std::string_view client_message);

enum class BatchStep { kTask, kEnd, kError };

// Parses the task at `*offset` of `batch` (bytes ReadBatchFrame returned)
// into `task` and moves `*offset` past it, skipping fields that are not
// tasks. kEnd when no task is left; kError sets `error` (MALFORMED_FRAME)
// when a task does not parse as a Submit.
BatchStep NextBatchTask(std::string_view batch, size_t* offset, v1::Submit* task, Status* error);

}  // namespace taskpool::wire
