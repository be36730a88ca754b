// Reading a payload whole, binary-safe: from stdin or from a file, bounded
// by the daemon's payload limit so a huge file fails early and clearly.
#pragma once

#include <cstdint>
#include <string>

#include "taskpool/status.hpp"

namespace taskpool::cli {

// Everything on stdin until end-of-file, or everything in the file at
// `path`. Fails (INVALID_ARGUMENT, naming the source) when it cannot be
// read or holds more than `limit` bytes.
Result<std::string> ReadStdinAtMost(uint64_t limit);
Result<std::string> ReadFileAtMost(const std::string& path, uint64_t limit);

// `name` (a file name, "stdin") holds more than `limit` bytes: the message.
std::string TooLargeMessage(const std::string& name, uint64_t limit);

}  // namespace taskpool::cli
