// Plain HTTP/1.1 over 127.0.0.1 for the tests of taskpoold --http-listen:
// a request sent byte for byte, the answer read until the server closes.
#pragma once

#include <cstdint>
#include <string>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {

struct HttpResponse {
  int status = 0;  // 0: the server closed without answering
  std::string headers;
  std::string body;
};

// Sends `request` as is to 127.0.0.1:`port` and reads the answer until the
// server closes the connection.
HttpResponse HttpExchange(uint16_t port, const std::string& request);

// GET `path`.
HttpResponse HttpGet(uint16_t port, const std::string& path);

// The port the daemon logged for --http-listen 127.0.0.1:0 (or its older
// name); records a test failure and returns 0 if the log has none.
uint16_t HttpPort(const DaemonProcess& daemon);

}  // namespace taskpool::testing
