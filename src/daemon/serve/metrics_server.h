// The daemon's Prometheus endpoint (--metrics-listen HOST:PORT): a small
// HTTP/1.1 server (Boost.Beast) on the supervisor's event loop that answers
// GET /metrics with the same text as `taskpool metrics`.
//
// Other paths get 404, other methods 405. A scraper cannot exhaust the
// daemon: requests are read with a size cap and a timeout, each
// connection serves one request and is closed, and at most
// kMaxConnections are open at once (more are closed on accept).
//
// Thread-safety: used only from the event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/serve/listen_address.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

class MetricsServer {
 public:
  // Called for each scrape: the exposition text to send.
  using Render = std::function<std::string()>;

  static constexpr size_t kMaxConnections = 8;
  static constexpr size_t kMaxRequestBytes = 8 * 1024;
  static constexpr std::chrono::seconds kTimeout{10};

  MetricsServer(boost::asio::io_context& io, Render render);
  ~MetricsServer();

  // Binds and starts accepting. Errors name --metrics-listen and the address.
  Status Listen(const ListenAddress& address);
  // Where it listens (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting and closes every open connection.
  void Stop();

 private:
  class Session;

  void Accept();
  size_t OpenSessions();

  Render render_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_backoff_;
  // Sessions own themselves (their pending operations hold them); these
  // let Stop() close them and the cap count them.
  std::vector<std::weak_ptr<Session>> sessions_;
};

}  // namespace taskpool::daemon
