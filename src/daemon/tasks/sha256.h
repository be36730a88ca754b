// SHA-256 as lowercase hex, for the sha256 built-in and for turning any
// lock name into a safe file name.
#pragma once

#include <string>
#include <string_view>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

// OpenSSL's SHA-256. libcrypto is loaded by the first call in each process
// (see lazy_library.h): only workers hash, so the supervisor never maps it.
// An error only if libcrypto cannot be loaded or its digest fails.
// Thread-safe.
Result<std::string> Sha256Hex(std::string_view data);

}  // namespace taskpool::daemon
