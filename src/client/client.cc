#include "taskpool/client.hpp"

#include <algorithm>
#include <array>

#include "client/client_impl.h"
#include "client/handshake.h"
#include "client/map_outputs_builder.h"
#include "client/map_window.h"
#include "client/wire_convert.h"
#include "base/socket_path.h"

namespace taskpool {

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  std::string path = base::ResolveSocketPath(options.socket_path);
  Result<client::Handshake> handshake =
      client::OpenAndGreet(path, options.client_name, options.connect_timeout,
                           options.payload_arena_bytes);
  if (!handshake.ok()) return handshake.status();
  ServerInfo info = client::FromWireHello(handshake->hello);
  auto impl = std::make_shared<Impl>(std::move(path), std::move(info),
                                     std::move(handshake).value(), options);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Streams may still share impl_; closing here keeps the promise that a
// destroyed Client leaves nothing waiting.
Client::~Client() { impl_->connection.Close(); }

const ServerInfo& Client::server_info() const { return impl_->server_info; }

const std::string& Client::socket_path() const { return impl_->socket_path; }

bool Client::connected() const { return impl_->connection.connected(); }

TaskResult Client::call(std::string_view function, std::string_view payload,
                        const SubmitOptions& options) {
  return impl_->connection.Call(function, payload, options, std::nullopt);
}

TaskResult Client::call_for(std::string_view function, std::string_view payload,
                            std::chrono::milliseconds wait,
                            const SubmitOptions& options) {
  return impl_->connection.Call(function, payload, options, wait);
}

std::future<TaskResult> Client::submit(std::string_view function,
                                       std::string_view payload,
                                       const SubmitOptions& options) {
  // shared_ptr: std::function needs a copyable callable, a promise is not.
  auto promise = std::make_shared<std::promise<TaskResult>>();
  std::future<TaskResult> future = promise->get_future();
  const std::array<std::string_view, 1> payloads{payload};
  // Only the promise sees the result, so whichever thread reads it may
  // complete it (a call() reading for itself, say).
  impl_->connection.Submit(
      function, payloads, options,
      [promise](size_t, TaskResult result) { promise->set_value(std::move(result)); },
      /*result_only_fulfils_a_promise=*/true);
  return future;
}

uint64_t Client::submit(std::string_view function, std::string_view payload,
                        std::function<void(TaskResult)> on_result,
                        const SubmitOptions& options) {
  const std::array<std::string_view, 1> payloads{payload};
  return impl_->connection.Submit(
      function, payloads, options,
      [on_result = std::move(on_result)](size_t, TaskResult result) {
        on_result(std::move(result));
      });
}

void Client::cancel(uint64_t id, bool kill_running) {
  impl_->connection.Cancel(id, kill_running);
}

namespace {

// map's loop, shared by map and map_outputs: imap's bounded window without
// its streaming machinery (the inputs are all here already, so tasks are
// sent straight from them). `on_result(position, TaskResult)` and
// `on_chunk(first_position, ChunkResults)` place each result; both run on
// the reader thread (or here, if the tasks fail before they are sent), and
// this returns only once every input has its result (the connection
// completes every pending task, even when it breaks).
template <typename OnResult, typename OnChunk>
void RunMap(Client::Impl& impl, std::string_view function,
            const std::vector<std::string>& inputs, size_t chunksize,
            const SubmitOptions& options, OnResult on_result, OnChunk on_chunk) {
  chunksize = std::max<size_t>(chunksize, 1);
  // Items too large to share a chunk go as tasks of their own anyway
  // (SubmitChunk cuts them apart), so they go under chunksize 1's window:
  // 4 x chunksize x workers of them would be a hundred MiB or more in
  // flight at 1 MiB each, past the connection's budget, and the daemon
  // would stop reading (tests/bench/analysis.md).
  const size_t average_input_bytes = AverageInputBytes(inputs);
  if (average_input_bytes > client::DaemonConnection::kMaxChunkBytes) chunksize = 1;
  const size_t window = MapWindowSize(impl.server_info, chunksize, average_input_bytes);
  client::MapWindow in_flight(window);
  std::vector<std::string_view> payloads;
  for (size_t first = 0; first < inputs.size();) {
    // Single tasks go as many at once as the window has room for, in one
    // frame; chunks one at a time (each is its own task and frame).
    size_t count = std::min(chunksize, inputs.size() - first);
    if (chunksize == 1) {
      count = in_flight.TakeRoom(inputs.size() - first);
    } else {
      in_flight.TakeRoomFor(count);
    }
    payloads.assign(inputs.begin() + static_cast<std::ptrdiff_t>(first),
                    inputs.begin() + static_cast<std::ptrdiff_t>(first + count));
    if (chunksize == 1) {
      impl.connection.Submit(function, payloads, options,
                             [&, first](size_t position, TaskResult result) {
                               on_result(first + position, std::move(result));
                               in_flight.Done(1);
                             });
    } else {
      impl.connection.SubmitChunk(function, payloads, options,
                                  [&, first](size_t position, client::ChunkResults chunk) {
                                    const size_t items = chunk.items;
                                    on_chunk(first + position, std::move(chunk));
                                    in_flight.Done(items);
                                  });
    }
    first += count;
  }
  in_flight.WaitForAll();
}

}  // namespace

std::vector<TaskResult> Client::map(std::string_view function,
                                    const std::vector<std::string>& inputs,
                                    size_t chunksize,
                                    const SubmitOptions& options) {
  std::vector<TaskResult> results(inputs.size());
  RunMap(
      *impl_, function, inputs, chunksize, options,
      [&](size_t position, TaskResult result) { results[position] = std::move(result); },
      [&](size_t first, client::ChunkResults chunk) {
        std::vector<TaskResult> split = std::move(chunk).Split();
        for (size_t i = 0; i < split.size(); ++i) results[first + i] = std::move(split[i]);
      });
  return results;
}

MapOutputs Client::map_outputs(std::string_view function,
                               const std::vector<std::string>& inputs, size_t chunksize,
                               const SubmitOptions& options) {
  client::MapOutputsBuilder outputs(inputs.size());
  RunMap(
      *impl_, function, inputs, chunksize, options,
      [&](size_t position, TaskResult result) { outputs.Add(position, std::move(result)); },
      [&](size_t first, client::ChunkResults chunk) { outputs.Add(first, std::move(chunk)); });
  return std::move(outputs).Take();
}

Result<PoolStatus> Client::status(std::chrono::milliseconds wait) {
  v1::ClientMessage request;
  request.mutable_status();
  Result<v1::ServerMessage> reply = impl_->connection.Request(request, wait);
  if (!reply.ok()) return reply.status();
  return client::FromWireStatus(reply->status());
}

Status Client::ping(std::chrono::milliseconds wait) {
  v1::ClientMessage request;
  request.mutable_ping();
  return impl_->connection.Request(request, wait).status();
}

}  // namespace taskpool
