#include "wire/worker_state.h"

#include <string>

namespace taskpool::wire {

std::string_view WorkerStateName(v1::WorkerState state) {
  switch (state) {
    case v1::WORKER_STATE_STARTING: return "starting";
    case v1::WORKER_STATE_IDLE: return "idle";
    case v1::WORKER_STATE_BUSY: return "busy";
    case v1::WORKER_STATE_DEAD: return "dead";
    case v1::WORKER_STATE_STOPPED: return "stopped";
    default: return "unknown";
  }
}

bool WorkerIsUp(v1::WorkerState state) {
  return state == v1::WORKER_STATE_IDLE || state == v1::WORKER_STATE_BUSY;
}

void SetWorkerState(v1::WorkerState state, v1::WorkerStatus* worker) {
  worker->set_worker_state(state);
  // The one writer of the deprecated field, kept for older readers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  worker->set_state(std::string(WorkerStateName(state)));
#pragma GCC diagnostic pop
}

}  // namespace taskpool::wire
