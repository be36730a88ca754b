// What the agent declares on the NATS server once connected: its two
// streams, its durable pull consumers and its core subscriptions. Each step
// is idempotent, so a set-up that fails half-way is simply run again.
#include "daemon/cluster/agent/agent.h"

#include <boost/asio/post.hpp>

#include "base/clock.h"

namespace taskpool::cluster {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;
// Stream limits (see cluster.proto): nothing grows without bound, and a
// dead origin's leftovers expire.
constexpr int64_t kTasksMaxAgeNs = 24 * 3600 * kNanosPerSecond;
constexpr int64_t kResultsMaxAgeNs = 3600 * kNanosPerSecond;
constexpr int64_t kStreamMaxMsgs = 1'000'000;
constexpr int64_t kDuplicateWindowNs = 120 * kNanosPerSecond;
// Durable consumers nobody has fetched from for this long are removed by
// the server (a function no node offers any more, an origin gone for good).
constexpr int64_t kConsumerInactiveNs = 24 * 3600 * kNanosPerSecond;
}  // namespace

Result<bool> Agent::SetUpStreams() {
  // Both streams are file-backed work queues of one subject tree; they
  // differ in how long a message may wait and in what a full one drops.
  const auto ensure = [&](const std::string& name, const std::string& subject, int64_t max_age_ns,
                          jsDiscardPolicy discard) {
    const char* subjects[] = {subject.c_str()};
    jsStreamConfig stream;
    jsStreamConfig_Init(&stream);
    stream.Name = name.c_str();
    stream.Subjects = subjects;
    stream.SubjectsLen = 1;
    stream.Retention = js_WorkQueuePolicy;
    stream.Storage = js_FileStorage;
    stream.MaxAge = max_age_ns;
    stream.MaxMsgs = kStreamMaxMsgs;
    stream.Discard = discard;
    stream.Duplicates = kDuplicateWindowNs;
    stream.Replicas = config_.replicas();
    return link_->EnsureStream(stream);
  };
  // A full task queue refuses (the origin then runs the task itself); a
  // result is never refused, the oldest goes.
  Result<bool> tasks_created =
      ensure(subjects_.tasks_stream(), subjects_.all_tasks(), kTasksMaxAgeNs, js_DiscardNew);
  if (!tasks_created.ok()) return tasks_created.status();
  Result<bool> results_created =
      ensure(subjects_.results_stream(), subjects_.all_results(), kResultsMaxAgeNs, js_DiscardOld);
  if (!results_created.ok()) return results_created.status();
  return *tasks_created || *results_created;
}

Status Agent::SetUpConsumers() {
  const auto task_consumer = [&](const std::string& durable, const std::string& filter) {
    jsConsumerConfig consumer;
    jsConsumerConfig_Init(&consumer);
    consumer.Durable = durable.c_str();
    consumer.FilterSubject = filter.c_str();
    consumer.AckPolicy = js_AckExplicit;
    consumer.AckWait = int64_t{config_.ack_wait_ms()} * kNanosPerMilli;
    consumer.MaxDeliver = kMaxDeliver;
    consumer.MaxAckPending = -1;  // nodes fetch only what they can run
    consumer.InactiveThreshold = kConsumerInactiveNs;
    return link_->BindPullConsumer(subjects_.tasks_stream(), consumer);
  };
  Result<std::unique_ptr<PullConsumer>> any =
      task_consumer(Subjects::any_consumer(), subjects_.any_tasks());
  if (!any.ok()) return any.status();
  std::map<std::string, std::unique_ptr<PullConsumer>> by_subject;
  for (const std::string& function : config_.functions()) {
    const std::string subject = subjects_.function_tasks(function);
    Result<std::unique_ptr<PullConsumer>> consumer =
        task_consumer(Subjects::function_consumer(function), subject);
    if (!consumer.ok()) return consumer.status();
    by_subject.emplace(subject, std::move(consumer.value()));
  }
  const std::string durable = Subjects::results_consumer(config_.node());
  const std::string filter = subjects_.results_for(config_.node());
  jsConsumerConfig consumer;
  jsConsumerConfig_Init(&consumer);
  consumer.Durable = durable.c_str();
  consumer.FilterSubject = filter.c_str();
  consumer.AckPolicy = js_AckExplicit;
  consumer.AckWait = 30 * kNanosPerSecond;
  consumer.MaxAckPending = -1;
  consumer.InactiveThreshold = kConsumerInactiveNs;
  Result<std::unique_ptr<PullConsumer>> results =
      link_->BindPullConsumer(subjects_.results_stream(), consumer);
  if (!results.ok()) return results.status();
  task_fetcher_->Install(std::move(any.value()), std::move(by_subject));
  result_fetcher_->Install(std::move(results.value()));
  return Status::Ok();
}

Status Agent::SubscribeCore() {
  Status status = link_->Subscribe(subjects_.nodes(), [this](std::string_view body) {
    auto heartbeat = std::make_shared<v1::NodeHeartbeat>();
    if (!heartbeat->ParseFromArray(body.data(), static_cast<int>(body.size()))) return;
    boost::asio::post(io_, [this, heartbeat] {
      nodes_.Update(*heartbeat, base::SteadyClock::now());
      v1::FromAgent message;
      *message.mutable_heartbeat() = *heartbeat;
      control_->Send(message);
    });
  });
  if (!status.ok()) return status;
  status = link_->Subscribe(subjects_.started_for(config_.node()), [this](std::string_view body) {
    auto message = std::make_shared<v1::FromAgent>();
    if (!message->mutable_started()->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return;
    }
    boost::asio::post(io_, [this, message] { control_->Send(*message); });
  });
  if (!status.ok()) return status;
  status = link_->Subscribe(subjects_.cancel(), [this](std::string_view body) {
    auto cancel = std::make_shared<v1::CancelTask>();
    if (!cancel->ParseFromArray(body.data(), static_cast<int>(body.size()))) return;
    boost::asio::post(io_, [this, cancel] { runner_->OnCancel(*cancel); });
  });
  if (!status.ok()) return status;
  for (const std::string& function : config_.functions()) {
    status = link_->Subscribe(subjects_.avail(function),
                              [this, subject = subjects_.function_tasks(function)](std::string_view) {
                                task_fetcher_->Hint(subject);
                              });
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace taskpool::cluster
