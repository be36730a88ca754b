#include "wire/error_code.h"

#include <cstdint>

#include "base/error_code_list.h"

namespace taskpool::wire {

// Same name on both sides (v1::NAME must exist) and the same value, so that
// a code logged or stored as a number means the same thing everywhere.
#define TASKPOOL_SAME_VALUE(code, name)                                        \
  static_assert(static_cast<int>(ErrorCode::code) == static_cast<int>(v1::name), \
                "taskpool::ErrorCode::" #code " and taskpool.v1." #name " differ");
TASKPOOL_WIRE_ERROR_CODES(TASKPOOL_SAME_VALUE)
#undef TASKPOOL_SAME_VALUE

// No enumerator of either enum may be missing from the list: both switches
// below name every case and have no default, and -Wswitch is an error here.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"

v1::ErrorCode ToWireCode(ErrorCode code) {
#define TASKPOOL_WIRE_CASE(code, name) \
  case ErrorCode::code:                \
    return v1::name;
#define TASKPOOL_CLIENT_CASE(code, name) case ErrorCode::code:
  switch (code) {
    TASKPOOL_WIRE_ERROR_CODES(TASKPOOL_WIRE_CASE)
    TASKPOOL_CLIENT_ERROR_CODES(TASKPOOL_CLIENT_CASE)
    return v1::INTERNAL;
  }
#undef TASKPOOL_CLIENT_CASE
#undef TASKPOOL_WIRE_CASE
  return v1::INTERNAL;  // a value outside the enum
}

ErrorCode FromWireCode(int64_t wire_code) {
  // v1::ErrorCode is an int-sized enum: any int is one of its values, and
  // one not listed falls out of the switch.
  if (wire_code < INT32_MIN || wire_code > INT32_MAX) return ErrorCode::kInternal;
#define TASKPOOL_FROM_WIRE_CASE(code, name) \
  case v1::name:                            \
    return ErrorCode::code;
  switch (static_cast<v1::ErrorCode>(wire_code)) {
    TASKPOOL_WIRE_ERROR_CODES(TASKPOOL_FROM_WIRE_CASE)
    // protoc's range markers, never values.
    case v1::ErrorCode_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::ErrorCode_INT_MAX_SENTINEL_DO_NOT_USE_:
      return ErrorCode::kInternal;
  }
#undef TASKPOOL_FROM_WIRE_CASE
  return ErrorCode::kInternal;  // not a code this build knows
}

#pragma GCC diagnostic pop

}  // namespace taskpool::wire
