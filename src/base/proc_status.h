// Fields of a /proc/PID/status file, such as "VmData:  1234 kB".
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace taskpool::base {

// The value of `field` (without its colon: "VmData", "RssShmem") in KiB,
// from the text of a /proc/PID/status file; nullopt if it is not there.
std::optional<uint64_t> StatusFieldKib(std::string_view status, std::string_view field);

}  // namespace taskpool::base
