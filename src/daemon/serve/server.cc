#include "daemon/serve/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/log.h"

namespace taskpool::daemon {

namespace local = boost::asio::local;

Server::Server(boost::asio::io_context& io, const DaemonConfig& config,
               ConnectionHost& host)
    : io_(io),
      config_(config),
      host_(host),
      access_(config.allowed_users, config.allowed_groups),
      connections_per_user_(config.max_connections_per_user),
      acceptor_(io),
      accept_retry_(io),
      heap_trim_(io.get_executor()) {}

Status Server::Listen() {
  boost::system::error_code error;
  if (config_.listen_fd >= 0) {
    // Mode, owner and backlog are the .socket unit's business.
    acceptor_.assign(local::stream_protocol(), config_.listen_fd, error);
    if (error) {
      return Status(ErrorCode::kInternal,
                    "cannot serve the socket-activated fd: " + error.message());
    }
    listening_ = true;
    Accept();
    return Status::Ok();
  }
  const local::stream_protocol::endpoint endpoint(config_.socket_path);
  acceptor_.open(endpoint.protocol(), error);
  if (!error) acceptor_.bind(endpoint, error);
  if (error) {
    return Status(ErrorCode::kInternal, "cannot listen on " +
                                            config_.socket_path + ": " +
                                            error.message());
  }
  // Remembered so that at exit we remove this socket and nothing a user
  // put in its place.
  struct stat bound {};
  if (lstat(config_.socket_path.c_str(), &bound) == 0) {
    socket_identity_ = {bound.st_dev, bound.st_ino};
  }
  // bind() honours the umask; the configured mode is what operators expect.
  if (chmod(config_.socket_path.c_str(), config_.socket_mode) != 0) {
    return ErrnoStatus("chmod " + config_.socket_path, errno);
  }
  if (config_.socket_group &&
      chown(config_.socket_path.c_str(), static_cast<uid_t>(-1), *config_.socket_group) != 0) {
    return ErrnoStatus("chgrp " + config_.socket_path + " (--socket-group)", errno);
  }
  acceptor_.listen(local::stream_protocol::acceptor::max_listen_connections,
                   error);
  if (error) {
    return Status(ErrorCode::kInternal,
                  "listen on " + config_.socket_path + ": " + error.message());
  }
  listening_ = true;
  Accept();
  return Status::Ok();
}

namespace {

// "; 12 more since the last report" for a throttled warning.
std::string HeldBack(uint64_t count) {
  return count == 0 ? "" : "; " + std::to_string(count) + " more since the last report";
}

constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

}  // namespace

void Server::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error, local_socket socket) {
    if (!listening_) return;
    if (error) {
      PauseAccepting(error);
      return;
    }
    Admit(std::move(socket));
    Accept();
  });
}

void Server::PauseAccepting(const boost::system::error_code& error) {
  if (std::optional<uint64_t> held = accept_errors_.Admit()) {
    TP_LOG(kWarning) << "accept on " << config_.socket_path << ": " << error.message()
                     << "; serving the " << connections_.size()
                     << " open connections and accepting again when one closes"
                     << HeldBack(*held);
  }
  accept_paused_ = true;
  accept_retry_.expires_after(kAcceptRetryDelay);
  accept_retry_.async_wait([this](const boost::system::error_code& cancelled) {
    if (!cancelled) ResumeAccepting();
  });
}

void Server::ResumeAccepting() {
  if (!accept_paused_ || !listening_) return;
  accept_paused_ = false;
  accept_retry_.cancel();
  Accept();
}

std::shared_ptr<ClientSession> Server::NewSession(local_socket socket,
                                                 std::chrono::milliseconds idle_timeout) {
  return std::make_shared<ClientSession>(
      std::move(socket), host_, next_connection_id_++, config_.max_frame_bytes(),
      ClientSession::Timeouts{idle_timeout, config_.hello_timeout, config_.frame_timeout});
}

void Server::Serve(const std::shared_ptr<ClientSession>& connection) {
  connections_.emplace(connection->id(), connection);
  connection->Start();
}

void Server::Admit(local_socket socket) {
  const std::shared_ptr<ClientSession> connection =
      NewSession(std::move(socket), config_.idle_timeout);
  if (!access_.Allows(connection->peer_uid(), connection->peer_gid())) {
    const std::string who = "uid " + std::to_string(connection->peer_uid()) + " (gid " +
                            std::to_string(connection->peer_gid()) + ")";
    if (std::optional<uint64_t> held = refused_not_allowed_.Admit()) {
      TP_LOG(kWarning) << "refusing connection from pid " << connection->peer_pid() << ", "
                       << who << ": not in --allow-users/--allow-groups" << HeldBack(*held);
    }
    connection->SendErrorAndClose(ErrorCode::kPermissionDenied,
                                  who + " may not use this taskpoold; allow it with taskpoold "
                                        "--allow-users or --allow-groups");
    return;
  }
  if (connections_.size() >= config_.max_connections) {
    if (std::optional<uint64_t> held = refused_too_many_.Admit()) {
      TP_LOG(kWarning) << "refusing connection from pid " << connection->peer_pid()
                       << ": already " << connections_.size() << " connections"
                       << HeldBack(*held);
    }
    connection->SendErrorAndClose(ErrorCode::kTooManyConnections,
                                  "taskpoold already serves " +
                                      std::to_string(connections_.size()) +
                                      " connections (taskpoold --max-connections)");
    return;
  }
  if (Status refused = connections_per_user_.Admit(connection->peer_uid()); !refused.ok()) {
    if (std::optional<uint64_t> held = refused_too_many_for_user_.Admit()) {
      TP_LOG(kWarning) << "refusing connection from pid " << connection->peer_pid() << ": "
                       << refused.message() << HeldBack(*held);
    }
    connection->SendErrorAndClose(refused.code(), refused.message());
    return;
  }
  TP_LOG(kDebug) << "connection " << connection->id() << " from pid " << connection->peer_pid();
  Serve(connection);
}

void Server::FillStatus(v1::StatusReply* status) {
  status->set_connections(static_cast<uint32_t>(connections_.size()));
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [uid, open] : connections_per_user_.by_user()) {
    v1::UserConnections* user = status->add_connections_per_user();
    user->set_uid(uid);
    user->set_name(user_names_.NameOf(uid, now));
    user->set_connections(open);
  }
  status->set_max_connections_per_user(connections_per_user_.limit());
  status->set_max_connection_memory_bytes(config_.max_connection_memory_bytes);
  std::vector<const ClientSession*> by_id;
  for (const auto& [id, connection] : connections_) by_id.push_back(connection.get());
  std::sort(by_id.begin(), by_id.end(),
            [](const ClientSession* a, const ClientSession* b) { return a->id() < b->id(); });
  for (const ClientSession* connection : by_id) {
    v1::ConnectionMemory* memory = status->add_connection_memory();
    memory->set_connection(connection->id());
    memory->set_pid(connection->peer_pid());
    memory->set_uid(connection->peer_uid());
    memory->set_held_bytes(connection->buffered_bytes() + host_.TaskBytes(*connection));
    memory->set_paused(connection->reading_paused());
  }
  v1::ListenerCounters* listener = status->mutable_listener();
  listener->set_accept_errors(accept_errors_.total());
  listener->set_refused_not_allowed(refused_not_allowed_.total());
  listener->set_refused_too_many(refused_too_many_.total());
  listener->set_refused_too_many_for_user(refused_too_many_for_user_.total());
}

std::shared_ptr<ClientSession> Server::Adopt(local_socket socket) {
  // No idle timeout: the cluster agent may stay quiet for as long as the
  // cluster has nothing for this node.
  std::shared_ptr<ClientSession> connection =
      NewSession(std::move(socket), std::chrono::milliseconds(0));
  adopted_.insert(connection->id());
  Serve(connection);
  return connection;
}

void Server::StopListening() {
  if (!listening_) return;
  listening_ = false;
  accept_retry_.cancel();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // An activated socket stays: systemd listens on it again for the next start.
  if (config_.listen_fd < 0) RemoveOwnSocketFile();
}

void Server::RemoveOwnSocketFile() {
  struct stat now {};
  if (lstat(config_.socket_path.c_str(), &now) != 0) return;
  if (!socket_identity_ || now.st_dev != socket_identity_->first ||
      now.st_ino != socket_identity_->second) {
    TP_LOG(kWarning) << "not removing " << config_.socket_path
                     << ": it is no longer the socket this daemon created";
    return;
  }
  unlink(config_.socket_path.c_str());
}

void Server::CloseAllAfterFlush() {
  // Copy: closing calls back into Forget, which erases from the map.
  std::vector<std::shared_ptr<ClientSession>> all;
  for (const auto& [id, connection] : connections_) all.push_back(connection);
  for (const auto& connection : all) connection->CloseAfterFlush();
}

void Server::Forget(const ClientSession& connection, uint64_t task_bytes) {
  // An adopted connection was never counted for its user.
  if (connections_.erase(connection.id()) > 0 && adopted_.erase(connection.id()) == 0) {
    connections_per_user_.Release(connection.peer_uid());
  }
  heap_trim_.ConnectionClosed(std::max(connection.peak_buffered_bytes(), task_bytes));
  // A descriptor just came free.
  ResumeAccepting();
}

}  // namespace taskpool::daemon

namespace taskpool::daemon {

void Server::ReloadAccessPolicy() {
  access_ = AccessPolicy(config_.allowed_users, config_.allowed_groups);
}

}  // namespace taskpool::daemon
