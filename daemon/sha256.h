// SHA-256 as lowercase hex, for the sha256 built-in and for turning any
// lock name into a safe file name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace taskpool {

// nullopt only if OpenSSL's digest itself fails.
std::optional<std::string> Sha256Hex(std::string_view data);

}  // namespace taskpool
