// The HOST:PORT of a TCP listening option (--http-listen).
#pragma once

#include <cstdint>
#include <string>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

// HOST is an IPv4 address, or an IPv6 address in brackets ("[::1]:9464");
// host names are not resolved. PORT 0 picks a free port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;

  // "127.0.0.1:9464", "[::1]:9464"
  std::string ToString() const;
};

// Parses `text`; the error message quotes it and says what is wrong.
Result<ListenAddress> ParseListenAddress(const std::string& text);

}  // namespace taskpool::daemon
