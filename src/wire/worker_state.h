// A worker's state in a status reply (v1::WorkerState), and its name.
#pragma once

#include <string_view>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// "starting", "idle", "busy", "dead", "stopped"; "unknown" for UNSPECIFIED
// or a value
// newer than this build. What `taskpool status` shows and the text the
// deprecated WorkerStatus.state field carries.
std::string_view WorkerStateName(v1::WorkerState state);

// Attached to the queue and serving: idle or busy (not stopped).
bool WorkerIsUp(v1::WorkerState state);

// Sets `worker`'s state: the enum, and the deprecated text field that
// readers older than the enum read.
void SetWorkerState(v1::WorkerState state, v1::WorkerStatus* worker);

}  // namespace taskpool::wire
