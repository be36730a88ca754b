// Translations between the wire messages (taskpool.v1) and the public value
// types of client.hpp. Pure functions, no I/O.
#pragma once

#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool {

// An unknown wire value becomes kInternal, as the protocol requires.
ErrorCode FromWireCode(int wire_code);

TaskResult FromWireResult(const v1::Result& result);
PoolStatus FromWireStatus(const v1::StatusReply& reply);
ServerInfo FromWireHello(const v1::HelloReply& reply);

// Fills everything of `submit` but the id.
void ToWireSubmit(std::string_view function, std::string_view payload,
                  const SubmitOptions& options, v1::Submit* submit);

// A result for a task that never reached (or never came back from) a worker.
TaskResult FailedResult(ErrorCode code, std::string message);

}  // namespace taskpool
