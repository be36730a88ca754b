// The daemon's HTTP endpoint (--http-listen HOST:PORT): a small HTTP/1.1
// server (Boost.Beast) on the supervisor's event loop that answers GET for
// a fixed set of paths (status_endpoints.h says which).
//
// A path it does not serve gets 404, another method than GET 405. A
// client cannot exhaust the daemon: requests are read with a size cap and
// a timeout, each connection serves one request and is closed, and at most
// kMaxConnections are open at once (more are closed on accept). There is
// no authentication: whoever reaches the address reads everything served.
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
#include <utility>
#include <vector>

#include "daemon/serve/listen_address.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// What one GET is answered with (status 200).
struct HttpContent {
  std::string content_type;
  std::string body;
  // More header fields, e.g. {"Content-Security-Policy", "..."}.
  std::vector<std::pair<std::string, std::string>> headers;
};

// One path and what renders its answer, called for each request.
struct HttpRoute {
  std::string path;  // "/status.json"; the query is ignored when matching
  std::function<HttpContent()> render;
};

class HttpServer {
 public:
  static constexpr size_t kMaxConnections = 8;
  static constexpr size_t kMaxRequestBytes = 8 * 1024;
  static constexpr std::chrono::seconds kTimeout{10};

  // `option` is how the operator asked for it ("--http-listen"), for
  // error messages.
  HttpServer(boost::asio::io_context& io, std::vector<HttpRoute> routes,
             std::string option);
  ~HttpServer();

  // Binds and starts accepting. Errors name the option and the address.
  Status Listen(const ListenAddress& address);
  // Where it listens (the real port when 0 was asked for).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting and closes every open connection.
  void Stop();

 private:
  class Session;

  void Accept();
  size_t OpenSessions();

  // Shared with the sessions, which may outlive a Stop() by a callback.
  std::shared_ptr<const std::vector<HttpRoute>> routes_;
  std::string option_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_backoff_;
  // Sessions own themselves (their pending operations hold them); these
  // let Stop() close them and the cap count them.
  std::vector<std::weak_ptr<Session>> sessions_;
};

}  // namespace taskpool::daemon
