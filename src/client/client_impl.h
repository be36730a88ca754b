// The state behind a Client, shared with the ResultStreams it creates.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "client/daemon_connection.h"
#include "taskpool/client.hpp"

namespace taskpool {

struct Client::Impl {
  Impl(std::string path, ServerInfo info, client::Handshake handshake,
       const ClientOptions& options)
      : socket_path(std::move(path)),
        server_info(std::move(info)),
        connection(std::move(handshake), options) {}

  const std::string socket_path;
  const ServerInfo server_info;
  client::DaemonConnection connection;
};

// How many inputs a map or stream keeps in flight by default: enough to
// keep every worker busy with a chunk queued behind it.
size_t DefaultWindow(const ServerInfo& server, size_t chunksize);

// Yields `inputs` in order. `owner`, if any, keeps them alive; without one
// the caller guarantees they outlive the source.
Client::InputSource VectorSource(const std::vector<std::string>& inputs,
                                 std::shared_ptr<const void> owner = nullptr);

}  // namespace taskpool
