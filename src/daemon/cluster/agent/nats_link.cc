#include "daemon/cluster/agent/nats_link.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/log.h"

namespace taskpool::cluster {

namespace {

// How long JetStream API calls and publishes wait for their answer.
constexpr int64_t kRequestWaitMs = 2000;
// Between reconnect attempts: short, so a restarted server is found fast.
constexpr int64_t kReconnectWaitMs = 250;
// A dead server is noticed after two unanswered pings.
constexpr int64_t kPingIntervalMs = 2000;

}  // namespace

Status NatsStatus(std::string_view what, natsStatus status, jsErrCode js_error) {
  std::string message = std::string(what) + ": " + natsStatus_GetText(status);
  const char* detail = nats_GetLastError(nullptr);
  if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
  if (js_error != 0) message += " [JetStream error " + std::to_string(js_error) + "]";
  return Status(ErrorCode::kInternal, message);
}

bool IsTransient(natsStatus status, jsErrCode js_error) {
  // JetStream's own final answers: the stream is full or the message too
  // large for it. Anything else (no connection, a timeout, no responder
  // while a stream leader is elected or the stream is being recreated)
  // may pass.
  if (js_error == JSStreamStoreFailedErr || js_error == JSStreamMessageExceedsMaximumErr) {
    return false;
  }
  return status != NATS_MAX_PAYLOAD && status != NATS_INVALID_ARG &&
         status != NATS_INVALID_SUBJECT && status != NATS_NOT_PERMITTED;
}

PullConsumer::~PullConsumer() { natsSubscription_Destroy(subscription_); }

Result<std::vector<OwnedMessage>> PullConsumer::Fetch(int batch, int64_t wait_ms) {
  return Request(batch, wait_ms * 1'000'000);
}

Result<std::vector<OwnedMessage>> PullConsumer::TakeLate(int batch) {
  // libnats takes what its subscription holds first, then sends a request
  // only if time is left before the expiry, which it counts in whole
  // milliseconds: an expiry of 1 ns leaves none.
  return Request(batch, 1);
}

Result<std::vector<OwnedMessage>> PullConsumer::Request(int batch, int64_t expires_ns) {
  jsFetchRequest request;
  jsFetchRequest_Init(&request);
  request.Batch = batch;
  // Whatever is there now; if nothing is, the first to arrive before the
  // expiry (nats-server 2.9 reads no_wait with expires that way).
  request.NoWait = true;
  request.Expires = expires_ns;
  natsMsgList list {};
  const natsStatus status = natsSubscription_FetchRequest(&list, subscription_, &request);
  std::vector<OwnedMessage> messages;
  if (status == NATS_TIMEOUT || status == NATS_NOT_FOUND) return messages;
  if (status != NATS_OK) return NatsStatus("fetch", status);
  messages.reserve(static_cast<size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    messages.emplace_back(list.Msgs[i]);
    list.Msgs[i] = nullptr;  // ours now, not the list's
  }
  natsMsgList_Destroy(&list);
  return messages;
}

int PullConsumer::Late() const {
  int messages = 0;
  int bytes = 0;
  if (natsSubscription_GetPending(subscription_, &messages, &bytes) != NATS_OK) return 0;
  return messages;
}

Result<std::unique_ptr<NatsLink>> NatsLink::Open(const v1::AgentConfig& config, Events events) {
  std::unique_ptr<NatsLink> link(new NatsLink());
  link->events_ = std::move(events);
  natsOptions* options = nullptr;
  natsStatus status = natsOptions_Create(&options);
  if (status != NATS_OK) return NatsStatus("natsOptions_Create", status);
  link->options_ = options;
  std::vector<const char*> servers;
  for (const std::string& server : config.servers()) servers.push_back(server.c_str());
  status = natsOptions_SetServers(options, servers.data(), static_cast<int>(servers.size()));
  if (status != NATS_OK) return NatsStatus("--cluster URLs", status);
  const std::string name = "taskpoold " + config.node();
  natsOptions_SetName(options, name.c_str());
  natsOptions_SetNoRandomize(options, true);
  natsOptions_SetMaxReconnect(options, -1);
  natsOptions_SetReconnectWait(options, kReconnectWaitMs);
  natsOptions_SetPingInterval(options, kPingIntervalMs);
  natsOptions_SetMaxPingsOut(options, 2);
  natsOptions_SetTimeout(options, kRequestWaitMs);
  natsOptions_SetDisconnectedCB(options, &NatsLink::OnDisconnected, link.get());
  natsOptions_SetReconnectedCB(options, &NatsLink::OnConnected, link.get());
  natsOptions_SetRetryOnFailedConnect(options, true, &NatsLink::OnConnected, link.get());
  if (!config.creds_file().empty()) {
    status = natsOptions_SetUserCredentialsFromFiles(options, config.creds_file().c_str(), nullptr);
    if (status != NATS_OK) return NatsStatus("--cluster-creds " + config.creds_file(), status);
  }
  if (!config.tls_ca_file().empty()) {
    status = natsOptions_LoadCATrustedCertificates(options, config.tls_ca_file().c_str());
    if (status == NATS_OK) status = natsOptions_SetSecure(options, true);
    if (status != NATS_OK) return NatsStatus("--cluster-tls-ca " + config.tls_ca_file(), status);
  }
  status = natsConnection_Connect(&link->connection_, options);
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED) {
    return NatsStatus("connect to " + config.servers(0), status);
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = kRequestWaitMs;
  status = natsConnection_JetStream(&link->jetstream_, link->connection_, &js_options);
  if (status != NATS_OK) return NatsStatus("JetStream context", status);
  // Connected at once: libnats calls no callback for that.
  if (link->connected() && link->events_.connected) link->events_.connected();
  return link;
}

NatsLink::~NatsLink() {
  if (jetstream_ != nullptr) jsCtx_Destroy(jetstream_);
  for (const std::unique_ptr<Handler>& handler : handlers_) {
    natsSubscription_Destroy(handler->subscription);
  }
  if (connection_ != nullptr) natsConnection_Destroy(connection_);
  if (options_ != nullptr) natsOptions_Destroy(options_);
}

void NatsLink::OnConnected(natsConnection*, void* closure) {
  auto* link = static_cast<NatsLink*>(closure);
  if (link->events_.connected) link->events_.connected();
}

void NatsLink::OnDisconnected(natsConnection*, void* closure) {
  auto* link = static_cast<NatsLink*>(closure);
  if (link->events_.disconnected) link->events_.disconnected();
}

bool NatsLink::connected() const {
  return connection_ != nullptr && natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

std::string NatsLink::connected_url() const {
  char url[512] = {};
  if (natsConnection_GetConnectedUrl(connection_, url, sizeof url) != NATS_OK) return "";
  return url;
}

Result<bool> NatsLink::EnsureStream(const jsStreamConfig& config) {
  jsStreamInfo* info = nullptr;
  jsErrCode js_error = jsErrCode(0);
  natsStatus status = js_GetStreamInfo(&info, jetstream_, config.Name, nullptr, &js_error);
  if (status == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return false;
  }
  if (status != NATS_NOT_FOUND) {
    return NatsStatus(std::string("stream info ") + config.Name, status, js_error);
  }
  jsStreamConfig copy = config;
  status = js_AddStream(&info, jetstream_, &copy, nullptr, &js_error);
  if (status == NATS_OK) jsStreamInfo_Destroy(info);
  if (status == NATS_OK) return true;
  if (js_error == JSStreamNameExistErr) return false;
  return NatsStatus(std::string("create stream ") + config.Name, status, js_error);
}

Result<std::unique_ptr<PullConsumer>> NatsLink::BindPullConsumer(const std::string& stream,
                                                                 const jsConsumerConfig& config) {
  jsConsumerInfo* info = nullptr;
  jsErrCode js_error = jsErrCode(0);
  jsConsumerConfig copy = config;
  natsStatus status = js_AddConsumer(&info, jetstream_, stream.c_str(), &copy, nullptr, &js_error);
  if (status == NATS_OK) jsConsumerInfo_Destroy(info);
  // Another node created it first: use it as it is.
  if (status != NATS_OK && js_error != JSConsumerNameExistErr &&
      js_error != JSConsumerExistingActiveErr) {
    return NatsStatus(std::string("create consumer ") + config.Durable, status, js_error);
  }
  jsSubOptions sub_options;
  jsSubOptions_Init(&sub_options);
  sub_options.Stream = stream.c_str();
  sub_options.Consumer = config.Durable;
  natsSubscription* subscription = nullptr;
  status = js_PullSubscribe(&subscription, jetstream_, config.FilterSubject, config.Durable,
                            nullptr, &sub_options, &js_error);
  if (status != NATS_OK) {
    return NatsStatus(std::string("bind consumer ") + config.Durable, status, js_error);
  }
  return std::make_unique<PullConsumer>(subscription);
}

Status NatsLink::Publish(const std::string& subject, std::string_view data,
                         const std::string& msg_id, bool* transient) {
  natsMsg* message = nullptr;
  natsStatus status = natsMsg_Create(&message, subject.c_str(), nullptr, data.data(),
                                     static_cast<int>(data.size()));
  if (status != NATS_OK) {
    *transient = false;
    return NatsStatus("message for " + subject, status);
  }
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.MsgId = msg_id.c_str();
  options.MaxWait = kRequestWaitMs;
  jsPubAck* ack = nullptr;
  jsErrCode js_error = jsErrCode(0);
  status = js_PublishMsg(&ack, jetstream_, message, &options, &js_error);
  natsMsg_Destroy(message);
  if (ack != nullptr) jsPubAck_Destroy(ack);
  if (status == NATS_OK) return Status::Ok();
  *transient = IsTransient(status, js_error);
  return NatsStatus("publish to " + subject, status, js_error);
}

Status NatsLink::PublishRetrying(const std::string& subject, std::string_view data,
                                 const std::string& msg_id,
                                 const std::function<bool()>& give_up) {
  for (;;) {
    bool transient = false;
    Status published = Publish(subject, data, msg_id, &transient);
    if (published.ok() || !transient || give_up()) return published;
    TP_LOG(kDebug) << published.message() << "; trying again";
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

Status NatsLink::PublishCore(const std::string& subject, std::string_view data) {
  const natsStatus status = natsConnection_Publish(connection_, subject.c_str(), data.data(),
                                                   static_cast<int>(data.size()));
  if (status != NATS_OK) return NatsStatus("publish to " + subject, status);
  return Status::Ok();
}

void NatsLink::OnCoreMessage(natsConnection*, natsSubscription*, natsMsg* message, void* closure) {
  auto* handler = static_cast<Handler*>(closure);
  handler->on_message(std::string_view(natsMsg_GetData(message),
                                       static_cast<size_t>(natsMsg_GetDataLength(message))));
  natsMsg_Destroy(message);
}

Status NatsLink::Subscribe(const std::string& subject,
                           std::function<void(std::string_view)> on_message) {
  auto handler = std::make_unique<Handler>();
  handler->on_message = std::move(on_message);
  const natsStatus status = natsConnection_Subscribe(&handler->subscription, connection_,
                                                     subject.c_str(), &NatsLink::OnCoreMessage,
                                                     handler.get());
  if (status != NATS_OK) return NatsStatus("subscribe to " + subject, status);
  handlers_.push_back(std::move(handler));
  return Status::Ok();
}

Result<std::vector<std::string>> NatsLink::SubjectsWithMessages(const std::string& stream,
                                                                const std::string& filter) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = kRequestWaitMs;
  options.Stream.Info.SubjectsFilter = filter.c_str();
  jsStreamInfo* info = nullptr;
  jsErrCode js_error = jsErrCode(0);
  const natsStatus status = js_GetStreamInfo(&info, jetstream_, stream.c_str(), &options, &js_error);
  if (status != NATS_OK) return NatsStatus("stream info " + stream, status, js_error);
  std::vector<std::string> subjects;
  if (info->State.Subjects != nullptr) {
    for (int i = 0; i < info->State.Subjects->Count; ++i) {
      const jsStreamStateSubject& subject = info->State.Subjects->List[i];
      if (subject.Msgs > 0) subjects.emplace_back(subject.Subject);
    }
  }
  jsStreamInfo_Destroy(info);
  return subjects;
}

void NatsLink::Close(int64_t timeout_ms) {
  if (connection_ == nullptr) return;
  natsConnection_FlushTimeout(connection_, timeout_ms);
  natsConnection_Close(connection_);
}

}  // namespace taskpool::cluster
