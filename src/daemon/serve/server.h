// The listening socket and the set of live connections.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "daemon/serve/access_policy.h"
#include "daemon/serve/client_session.h"
#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {

class Server {
 public:
  Server(boost::asio::io_context& io, const DaemonConfig& config,
         ConnectionHost& host);

  // Binds and listens on config.socket_path (which must not exist: the
  // caller removed any stale one) with config.socket_mode; or, when
  // socket-activated (config.listen_fd), serves systemd's socket as is.
  Status Listen();

  // Stops accepting and removes the socket file (unless systemd owns it).
  // Connections stay open.
  void StopListening();

  // Closes every connection once its queued output is written.
  void CloseAllAfterFlush();

  // Called by the host when a connection reports it closed.
  void Forget(const ClientSession& connection);

  size_t connection_count() const { return connections_.size(); }

 private:
  void Accept();

  boost::asio::io_context& io_;
  const DaemonConfig& config_;
  ConnectionHost& host_;
  const AccessPolicy access_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  bool listening_ = false;
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<ClientSession>> connections_;
};

}  // namespace taskpool::daemon
