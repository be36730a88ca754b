#include "taskpool/client.hpp"

#include <array>

#include "client/client_impl.h"
#include "client/handshake.h"
#include "client/wire_convert.h"
#include "common/socket_path.h"

namespace taskpool {

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  std::string path = ResolveSocketPath(options.socket_path);
  Result<Handshake> handshake =
      OpenAndGreet(path, options.client_name, options.connect_timeout);
  if (!handshake.ok()) return handshake.status();
  ServerInfo info = FromWireHello(handshake->hello);
  auto impl = std::make_shared<Impl>(std::move(path), std::move(info),
                                     std::move(handshake).value());
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
  return submit(function, payload, options).get();
}

TaskResult Client::call_for(std::string_view function, std::string_view payload,
                            std::chrono::milliseconds wait,
                            const SubmitOptions& options) {
  std::future<TaskResult> result = submit(function, payload, options);
  if (result.wait_for(wait) != std::future_status::ready) {
    return FailedResult(ErrorCode::kWaitTimeout,
                        "no result within " + std::to_string(wait.count()) +
                            " ms; the task may still run");
  }
  return result.get();
}

std::future<TaskResult> Client::submit(std::string_view function,
                                       std::string_view payload,
                                       const SubmitOptions& options) {
  // shared_ptr: std::function needs a copyable callable, a promise is not.
  auto promise = std::make_shared<std::promise<TaskResult>>();
  std::future<TaskResult> future = promise->get_future();
  submit(
      function, payload,
      [promise](TaskResult result) { promise->set_value(std::move(result)); },
      options);
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

std::vector<TaskResult> Client::map(std::string_view function,
                                    const std::vector<std::string>& inputs,
                                    size_t chunksize,
                                    const SubmitOptions& options) {
  // A bounded imap, collected: the daemon sees a steady window of chunks
  // rather than the whole input at once. `inputs` outlives the stream, so
  // no copy.
  std::vector<TaskResult> results;
  results.reserve(inputs.size());
  ResultStream stream =
      imap(function, VectorSource(inputs), chunksize, 0, options);
  while (std::optional<ResultStream::Item> item = stream.next()) {
    results.push_back(std::move(item->result));
  }
  return results;
}

Result<PoolStatus> Client::status(std::chrono::milliseconds wait) {
  v1::ClientMessage request;
  request.mutable_status();
  Result<v1::ServerMessage> reply = impl_->connection.Request(request, wait);
  if (!reply.ok()) return reply.status();
  return FromWireStatus(reply->status());
}

Status Client::ping(std::chrono::milliseconds wait) {
  v1::ClientMessage request;
  request.mutable_ping();
  return impl_->connection.Request(request, wait).status();
}

}  // namespace taskpool
