// taskpool::ErrorCode <-> taskpool.v1.ErrorCode, the one place the two meet.
// Their agreement (same names, same values, none missing on either side) is
// checked when error_code.cc compiles; base/error_code_list.h says how.
#pragma once

#include <cstdint>

#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// The wire code of `code`. The client-only codes (DAEMON_NOT_RUNNING, ...)
// never travel; should one be asked for, it goes out as INTERNAL.
v1::ErrorCode ToWireCode(ErrorCode code);

// The code a peer sent. A value this build does not know (a newer peer's)
// is INTERNAL, as the proto tells clients to treat it.
ErrorCode FromWireCode(int64_t wire_code);

}  // namespace taskpool::wire
