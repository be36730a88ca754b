// Opening a connection to taskpoold: connect the Unix socket and exchange
// hellos, before any reader thread exists, so every failure here is a plain
// return value.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "client/client_arena.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::client {

struct Handshake {
  std::unique_ptr<boost::asio::io_context> io;  // owns the socket's service
  std::unique_ptr<boost::asio::local::stream_protocol::socket> socket;
  v1::HelloReply hello;
  // The payload arena the daemon accepted; null without one.
  std::unique_ptr<ClientArena> arena;
};

// Connects to `socket_path` (already resolved) and says hello.
// Errors: DAEMON_NOT_RUNNING (nothing listens there), VERSION_MISMATCH,
// CONNECTION_LOST (the daemon closed or sent something unexpected),
// WAIT_TIMEOUT (no hello reply within `timeout`). With `arena_bytes`, the
// hello offers a payload arena of that size (client_arena.h); a system
// that cannot make one, or a daemon that does not take it, leaves the
// connection without.
Result<Handshake> OpenAndGreet(const std::string& socket_path,
                               const std::string& client_name,
                               std::chrono::milliseconds timeout, uint64_t arena_bytes = 0);

}  // namespace taskpool::client
