// The agent's connection to NATS and JetStream: libnats behind Status
// values and a few calls the agent needs.
//
// The connection retries forever, both the first connect (so the agent
// starts, and the daemon serves its local clients, while NATS is down) and
// after a loss; events go to the callbacks, which run on libnats' threads.
//
// Thread-safety: libnats' connection and JetStream context are thread-safe;
// so is every method here. A PullConsumer is used by one thread at a time.
#pragma once

#include <chrono>

#include <nats/nats.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "taskpool/cluster/v1/agent.pb.h"
#include "taskpool/status.hpp"

namespace taskpool::cluster {

// After a failed fetch: the fetchers' pause, so a broken server is not
// hammered.
inline constexpr std::chrono::milliseconds kFetchErrorPause{500};

// A natsStatus as a Status naming `what` and libnats' last error text.
Status NatsStatus(std::string_view what, natsStatus status, jsErrCode js_error = jsErrCode(0));

// Whether an error may go away by itself (no connection now, a timeout, a
// stream leader being elected) rather than being JetStream's final answer.
bool IsTransient(natsStatus status, jsErrCode js_error);

// A message owned by the caller (natsMsg_Destroy on destruction).
struct MessageDeleter {
  void operator()(natsMsg* message) const { natsMsg_Destroy(message); }
};
using OwnedMessage = std::unique_ptr<natsMsg, MessageDeleter>;

// A durable pull consumer, bound.
class PullConsumer {
 public:
  explicit PullConsumer(natsSubscription* subscription) : subscription_(subscription) {}
  ~PullConsumer();
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Up to `batch` messages: those available now, or, when none is, the
  // first ones to arrive within `wait_ms`. An empty result is no error.
  Result<std::vector<OwnedMessage>> Fetch(int batch, int64_t wait_ms);

  // Messages already in the subscription: answers to a fetch that came
  // after libnats stopped waiting for them (the next Fetch returns them
  // first). Late() counts them (with any late status replies); TakeLate
  // takes up to `batch` of them, asking the server for nothing more.
  int Late() const;
  Result<std::vector<OwnedMessage>> TakeLate(int batch);

 private:
  Result<std::vector<OwnedMessage>> Request(int batch, int64_t expires_ns);

  natsSubscription* subscription_;
};

class NatsLink {
 public:
  struct Events {
    std::function<void()> connected;     // first connect and every reconnect
    std::function<void()> disconnected;
  };

  // Starts connecting (never fails for an unreachable server: it keeps
  // trying). Errors are bad options: an unreadable credentials file, say.
  static Result<std::unique_ptr<NatsLink>> Open(const v1::AgentConfig& config, Events events);
  ~NatsLink();

  bool connected() const;
  std::string connected_url() const;

  // Creates a stream unless it exists; true if it had to.
  Result<bool> EnsureStream(const jsStreamConfig& config);
  // Creates (or finds) a durable pull consumer and binds to it.
  Result<std::unique_ptr<PullConsumer>> BindPullConsumer(const std::string& stream,
                                                         const jsConsumerConfig& config);
  // JetStream publish, waiting for the stream's acknowledgement. `msg_id`
  // sets Nats-Msg-Id. *transient tells whether a failure may pass.
  Status Publish(const std::string& subject, std::string_view data, const std::string& msg_id,
                 bool* transient);
  // Publish, retrying failures that may pass every 250 ms until it is
  // stored, refused for good, or `give_up()` says to stop.
  Status PublishRetrying(const std::string& subject, std::string_view data,
                         const std::string& msg_id, const std::function<bool()>& give_up);
  // Core NATS publish: not stored, not acknowledged; buffered while
  // reconnecting.
  Status PublishCore(const std::string& subject, std::string_view data);
  // Core NATS subscription; `on_message` runs on a libnats thread with the
  // message body.
  Status Subscribe(const std::string& subject, std::function<void(std::string_view)> on_message);
  // Subjects of `stream` matching `filter` that hold messages.
  Result<std::vector<std::string>> SubjectsWithMessages(const std::string& stream,
                                                        const std::string& filter);

  // Flushes what is buffered (bounded by `timeout_ms`) and closes.
  void Close(int64_t timeout_ms);

 private:
  NatsLink() = default;
  static void OnConnected(natsConnection* connection, void* closure);
  static void OnDisconnected(natsConnection* connection, void* closure);
  static void OnCoreMessage(natsConnection* connection, natsSubscription* subscription,
                            natsMsg* message, void* closure);

  Events events_;
  natsOptions* options_ = nullptr;
  natsConnection* connection_ = nullptr;
  jsCtx* jetstream_ = nullptr;
  struct Handler {
    std::function<void(std::string_view)> on_message;
    natsSubscription* subscription = nullptr;
  };
  std::vector<std::unique_ptr<Handler>> handlers_;
};

}  // namespace taskpool::cluster
