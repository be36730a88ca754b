// The agent's pull consumer against a real nats-server: an answer to a
// fetch that arrives after libnats stopped waiting for it is found and
// taken, and taking it asks the server for nothing more (a node with no
// free worker must not pull tasks it cannot run).
#include <gtest/gtest.h>

#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "daemon/cluster/agent/nats_link.h"
#include "tests/integration/cluster_fixture.h"

namespace taskpool::testing {
namespace {

constexpr char kStream[] = "late";
constexpr char kDurable[] = "workers";

class PullConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(natsConnection_ConnectTo(&connection_, server_.url().c_str()), NATS_OK);
    ASSERT_EQ(natsConnection_JetStream(&jetstream_, connection_, nullptr), NATS_OK);
    jsStreamConfig stream;
    jsStreamConfig_Init(&stream);
    stream.Name = kStream;
    const char* subjects[] = {"late.tasks"};
    stream.Subjects = subjects;
    stream.SubjectsLen = 1;
    stream.Retention = js_WorkQueuePolicy;
    ASSERT_EQ(js_AddStream(nullptr, jetstream_, &stream, nullptr, nullptr), NATS_OK);
    // Creates the durable pull consumer (explicit acks) as it subscribes.
    natsSubscription* subscription = nullptr;
    ASSERT_EQ(js_PullSubscribe(&subscription, jetstream_, "late.tasks", kDurable, nullptr,
                               nullptr, nullptr),
              NATS_OK);
    subscription_ = subscription;
    consumer_ = std::make_unique<cluster::PullConsumer>(subscription);
  }

  void TearDown() override {
    consumer_.reset();
    jsCtx_Destroy(jetstream_);
    natsConnection_Destroy(connection_);
  }

  void PublishTask(const std::string& data) {
    ASSERT_EQ(js_Publish(nullptr, jetstream_, "late.tasks", data.data(),
                         static_cast<int>(data.size()), nullptr, nullptr),
              NATS_OK);
  }

  // A pull request for one message whose answer goes to the consumer's
  // subscription while nobody fetches: what a fetch libnats gave up on
  // leaves behind when its answer comes late.
  void RequestOneBehindLibnatsBack() {
    // libnats 3.4 fetches with the inbox itself as reply subject; later
    // versions subscribe to "<inbox>.*" and add a fetch number.
    std::string inbox = natsSubscription_GetSubject(subscription_);
    if (inbox.ends_with(".*")) inbox.back() = '9';
    const std::string request = R"({"batch":1})";
    const std::string next = std::string("$JS.API.CONSUMER.MSG.NEXT.") + kStream + "." + kDurable;
    ASSERT_EQ(natsConnection_PublishRequestString(connection_, next.c_str(), inbox.c_str(),
                                                  request.c_str()),
              NATS_OK);
  }

  // Messages the server has handed out and not had acked, and those it
  // has not handed out yet.
  std::pair<int64_t, uint64_t> AckPendingAndUndelivered() {
    jsConsumerInfo* info = nullptr;
    EXPECT_EQ(js_GetConsumerInfo(&info, jetstream_, kStream, kDurable, nullptr, nullptr), NATS_OK);
    if (info == nullptr) return {-1, 0};
    const std::pair<int64_t, uint64_t> counts{info->NumAckPending, info->NumPending};
    jsConsumerInfo_Destroy(info);
    return counts;
  }

  NatsServer server_;
  natsConnection* connection_ = nullptr;
  jsCtx* jetstream_ = nullptr;
  natsSubscription* subscription_ = nullptr;
  std::unique_ptr<cluster::PullConsumer> consumer_;
};

TEST_F(PullConsumerTest, ALateAnswerIsTakenWithoutAskingForMore) {
  PublishTask("first");
  PublishTask("second");
  EXPECT_EQ(consumer_->Late(), 0);
  RequestOneBehindLibnatsBack();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (consumer_->Late() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(consumer_->Late(), 1) << "the late answer never reached the subscription";

  Result<std::vector<cluster::OwnedMessage>> taken = consumer_->TakeLate(consumer_->Late());
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ(std::string(natsMsg_GetData(taken->front().get()),
                        static_cast<size_t>(natsMsg_GetDataLength(taken->front().get()))),
            "first");
  EXPECT_EQ(consumer_->Late(), 0);
  // "second" was not asked for: still undelivered, while "first" waits
  // for its ack.
  EXPECT_EQ(AckPendingAndUndelivered(), (std::pair<int64_t, uint64_t>{1, 1}));
}

TEST_F(PullConsumerTest, TakingWithNothingLateIsEmptyAndAsksForNothing) {
  PublishTask("only");
  Result<std::vector<cluster::OwnedMessage>> taken = consumer_->TakeLate(1);
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_TRUE(taken->empty());
  EXPECT_EQ(AckPendingAndUndelivered(), (std::pair<int64_t, uint64_t>{0, 1}));
}

}  // namespace
}  // namespace taskpool::testing
