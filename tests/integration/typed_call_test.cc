// Typed calls end to end: the example plugin's TASKPOOL_PROTO_FUNCTION
// "resize" called through Client::call<> / call_for<> / submit<> / map<> /
// imap<> / imap_unordered<>, and the INVALID_ARGUMENT errors that name the
// message type on either side.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "resize.pb.h"
#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using example::ResizeRequest;
using example::ResizeResponse;

ResizeRequest Request(uint32_t width, uint32_t height, uint32_t max_side) {
  ResizeRequest request;
  request.set_width(width);
  request.set_height(height);
  request.set_max_side(max_side);
  return request;
}

class TypedCallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(
        2, std::vector<std::string>{"--plugin", RESIZE_PLUGIN_PATH, "--plugin",
                                    NOT_PROTOBUF_PLUGIN_PATH});
    client_ = ConnectTo(daemon_->socket_path());
    ASSERT_NE(client_, nullptr);
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(TypedCallTest, CallParsesTheResponse) {
  const TypedResult<ResizeResponse> result =
      client_->call<ResizeResponse>("resize", Request(1920, 1080, 256));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.response.width(), 256u);
  EXPECT_EQ(result.response.height(), 144u);
  EXPECT_EQ(result.response.worker_pid(), result.worker_pid);
  EXPECT_EQ(result.response.start_hook_runs(), 1u);
}

TEST_F(TypedCallTest, CallForAndBothSubmitsParseTheResponse) {
  const auto waited = client_->call_for<ResizeResponse>(
      "resize", Request(10, 20, 5), std::chrono::seconds(30));
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  EXPECT_EQ(waited.response.height(), 5u);

  std::future<TypedResult<ResizeResponse>> future =
      client_->submit<ResizeResponse>("resize", Request(300, 100, 30));
  std::promise<TypedResult<ResizeResponse>> from_callback;
  client_->submit<ResizeResponse>(
      "resize", Request(100, 300, 30),
      [&](TypedResult<ResizeResponse> result) {
        from_callback.set_value(std::move(result));
      });
  const TypedResult<ResizeResponse> first = future.get();
  const TypedResult<ResizeResponse> second = from_callback.get_future().get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(first.response.width(), 30u);
  EXPECT_EQ(first.response.height(), 10u);
  EXPECT_EQ(second.response.width(), 10u);
  EXPECT_EQ(second.response.height(), 30u);
}

TEST_F(TypedCallTest, MapAndImapKeepInputOrder) {
  std::vector<ResizeRequest> requests;
  for (uint32_t i = 1; i <= 20; ++i) requests.push_back(Request(2 * i, i, 1000));
  const std::vector<TypedResult<ResizeResponse>> mapped =
      client_->map<ResizeResponse>("resize", requests, 3);
  ASSERT_EQ(mapped.size(), requests.size());
  for (size_t i = 0; i < mapped.size(); ++i) {
    ASSERT_TRUE(mapped[i].ok()) << mapped[i].status().ToString();
    EXPECT_EQ(mapped[i].response.width(), requests[i].width());
  }

  auto stream = client_->imap<ResizeResponse>("resize", requests);
  size_t expected_index = 0;
  while (auto item = stream.next()) {
    EXPECT_EQ(item->index, expected_index++);
    ASSERT_TRUE(item->result.ok()) << item->result.status().ToString();
    EXPECT_EQ(item->result.response.height(), requests[item->index].height());
  }
  EXPECT_EQ(expected_index, requests.size());

  uint32_t next = 0;
  std::function<std::optional<ResizeRequest>()> source =
      [&]() -> std::optional<ResizeRequest> {
    if (next == 10) return std::nullopt;
    ++next;
    return Request(next, next, 1000);
  };
  auto unordered =
      client_->imap_unordered<ResizeResponse, ResizeRequest>("resize", source);
  std::set<size_t> seen;
  while (auto item = unordered.next()) {
    ASSERT_TRUE(item->result.ok()) << item->result.status().ToString();
    EXPECT_EQ(item->result.response.width(), item->index + 1);
    seen.insert(item->index);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST_F(TypedCallTest, StartHookRanOnceInEachWorker) {
  const std::vector<ResizeRequest> requests(64, Request(640, 480, 64));
  std::map<int32_t, std::set<int64_t>> hook_starts;
  // Which worker takes which task is up to the queue; keep mapping until
  // both have answered (bounded).
  for (int round = 0; round < 50 && hook_starts.size() < 2; ++round) {
    for (const auto& result : client_->map<ResizeResponse>("resize", requests)) {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      EXPECT_EQ(result.response.start_hook_runs(), 1u);
      EXPECT_EQ(result.response.worker_pid(), result.worker_pid);
      hook_starts[result.response.worker_pid()].insert(
          result.response.worker_started_unix_us());
    }
  }
  ASSERT_EQ(hook_starts.size(), 2u) << "one worker ran every task";
  for (const auto& [pid, starts] : hook_starts) {
    EXPECT_EQ(starts.size(), 1u) << "worker " << pid << " was set up twice";
  }
}

TEST_F(TypedCallTest, PayloadOfTheWrongTypeIsInvalidArgumentNamingTheType) {
  const TaskResult result = client_->call("resize", "not a protobuf \xff");
  EXPECT_EQ(result.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error, "payload is not a valid example.ResizeRequest");
}

TEST_F(TypedCallTest, ErrorThrownByTheFunctionKeepsItsCode) {
  const auto result =
      client_->call<ResizeResponse>("resize", Request(0, 10, 10));
  EXPECT_EQ(result.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error, "resize needs width, height and max_side above 0");
}

TEST_F(TypedCallTest, OutputOfTheWrongTypeIsInvalidArgumentNamingTheType) {
  const auto result =
      client_->call<ResizeResponse>("not_protobuf", Request(1, 1, 1));
  EXPECT_EQ(result.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.error,
            "output of 'not_protobuf' is not a valid example.ResizeResponse");
  EXPECT_GT(result.worker_pid, 0);
  EXPECT_FALSE(result.output.empty()) << "the raw bytes are kept";

  // Failures other than parsing pass through untouched.
  const auto unknown = client_->call<ResizeResponse>("no_such", Request(1, 1, 1));
  EXPECT_EQ(unknown.code, ErrorCode::kUnknownFunction);
}

}  // namespace
}  // namespace taskpool::testing
