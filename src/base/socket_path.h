// Where the daemon's socket is: an explicit path wins, then
// $TASKPOOL_SOCKET, then the system default (the systemd unit's
// RuntimeDirectory).
#pragma once

#include <string>
#include <string_view>

namespace taskpool::base {

inline constexpr std::string_view kDefaultSocketPath =
    "/run/taskpool/taskpoold.sock";

// `explicit_path` empty means "not given".
std::string ResolveSocketPath(std::string_view explicit_path);

}  // namespace taskpool::base
