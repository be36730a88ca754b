#include "taskpool/status.hpp"

#include <cstring>

#include "base/error_code_list.h"

namespace taskpool {

// Every enumerator must have a name: a code missing from the list is a
// compile error, not a silent "INTERNAL".
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
std::string_view ErrorCodeName(ErrorCode code) {
#define TASKPOOL_NAME_CASE(code, name) \
  case ErrorCode::code:                \
    return #name;
  switch (code) {
    TASKPOOL_WIRE_ERROR_CODES(TASKPOOL_NAME_CASE)
    TASKPOOL_CLIENT_ERROR_CODES(TASKPOOL_NAME_CASE)
  }
#undef TASKPOOL_NAME_CASE
  return "INTERNAL";  // a value outside the enum, e.g. cast from a newer peer's int
}
#pragma GCC diagnostic pop

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(ErrorCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status ErrnoStatus(std::string_view what, int errno_value, ErrorCode code) {
  std::string message(what);
  message += ": ";
  message += std::strerror(errno_value);
  return Status(code, std::move(message));
}

}  // namespace taskpool
