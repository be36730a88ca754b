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

// map()'s window: DefaultWindow, or more for small inputs, up to
// kSmallInputWindow of them as long as they average under
// kSmallWindowBytes together. With a window of a few tasks, each round
// trip carries a handful; with hundreds, submissions and results travel
// in batches and the daemon and the client wake once per batch
// (tests/bench/analysis.md: CPU per task falls ~5x).
inline constexpr size_t kSmallInputWindow = 256;
inline constexpr size_t kSmallWindowBytes = 1 << 20;
// The mean size of `inputs`, from the first thousand or so (a window is
// an estimate; a million inputs need not be read twice); at least 1.
size_t AverageInputBytes(const std::vector<std::string>& inputs);

size_t MapWindowSize(const ServerInfo& server, size_t chunksize, size_t average_input_bytes);

// Yields `inputs` in order. `owner`, if any, keeps them alive; without one
// the caller guarantees they outlive the source.
Client::InputSource VectorSource(const std::vector<std::string>& inputs,
                                 std::shared_ptr<const void> owner = nullptr);

}  // namespace taskpool
