// The listening socket and the set of live connections.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/log_throttle.h"
#include "daemon/serve/access_policy.h"
#include "daemon/serve/client_session.h"
#include "daemon/serve/connections_per_user.h"
#include "daemon/serve/heap_trim.h"
#include "daemon/route/user_names.h"
#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {

class Server {
 public:
  using local_socket = boost::asio::local::stream_protocol::socket;

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

  // Serves `socket`, a connection the daemon opened to itself (the cluster
  // agent's): no access check, connection limit or idle timeout applies.
  std::shared_ptr<ClientSession> Adopt(boost::asio::local::stream_protocol::socket socket);

  // Called by the host when a connection reports it closed; `task_bytes`:
  // what the host held for its tasks until then.
  void Forget(const ClientSession& connection, uint64_t task_bytes);

  size_t connection_count() const { return connections_.size(); }

  // Reload: checks peers against config.allowed_users/allowed_groups as
  // they are now (new connections only; open ones stay).
  void ReloadAccessPolicy();

  // The listener's part of status: connections, per user and in all, the
  // per-user limit, and the counters of what was turned away.
  void FillStatus(v1::StatusReply* status);

 private:
  void Accept();
  // accept() failed: out of descriptors (EMFILE, ENFILE) or kernel memory.
  // Accepting again at once would fail again at once and spin the loop, so
  // accepting pauses until a connection closes or a short timer fires; the
  // pending peers wait in the listen backlog meanwhile.
  void PauseAccepting(const boost::system::error_code& error);
  void ResumeAccepting();
  // A session for `socket` with the next id and the configured frame limit
  // and timeouts (`idle_timeout` apart).
  std::shared_ptr<ClientSession> NewSession(local_socket socket,
                                            std::chrono::milliseconds idle_timeout);
  // Counts `connection` as open and starts it.
  void Serve(const std::shared_ptr<ClientSession>& connection);
  void Admit(local_socket socket);
  // Unlinks config.socket_path if it is still the socket Listen() bound.
  void RemoveOwnSocketFile();

  boost::asio::io_context& io_;
  const DaemonConfig& config_;
  ConnectionHost& host_;
  AccessPolicy access_;
  ConnectionsPerUser connections_per_user_;
  UserNames user_names_;  // for the per-user lines of status
  boost::asio::local::stream_protocol::acceptor acceptor_;
  bool listening_ = false;
  std::optional<std::pair<dev_t, ino_t>> socket_identity_;  // of the bound socket file
  bool accept_paused_ = false;
  boost::asio::steady_timer accept_retry_;
  // Peers can make these happen at will: log once per interval with a count.
  base::LogThrottle accept_errors_;
  base::LogThrottle refused_not_allowed_;
  base::LogThrottle refused_too_many_;
  base::LogThrottle refused_too_many_for_user_;
  uint64_t next_connection_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<ClientSession>> connections_;
  std::unordered_set<uint64_t> adopted_;  // ids of connections Adopt() made
  HeapTrim heap_trim_;
};

}  // namespace taskpool::daemon
