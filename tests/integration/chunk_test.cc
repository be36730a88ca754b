// Chunk tasks (map/imap with chunksize > 1, Submit.chunk) against the real
// daemon: each item keeps its own outcome, the statistics count items,
// timeouts apply per item, and a worker dying in a chunk fails the whole
// chunk and nothing else. map_outputs gives what map does, without a
// TaskResult per item.
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

class ChunkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The `crash` test task; under AddressSanitizer a crash stays a crash.
    setenv("ASAN_OPTIONS", "handle_segv=0:detect_leaks=0", 1);
    daemon_ = std::make_unique<DaemonProcess>(2, std::vector<std::string>{"--enable-test-tasks"});
    client_ = ConnectTo(daemon_->socket_path());
    ASSERT_NE(client_, nullptr);
  }

  std::vector<std::string> Numbers(size_t count) {
    std::vector<std::string> inputs(count);
    for (size_t i = 0; i < count; ++i) inputs[i] = std::to_string(i);
    return inputs;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST_F(ChunkTest, EachItemKeepsItsOwnOutcomeInInputOrder) {
  const std::vector<std::string> inputs = {"454577", "abc", "3334", "", "565633"};
  const std::vector<TaskResult> results = client_->map("is_prime", inputs, 5);
  ASSERT_EQ(results.size(), inputs.size());
  EXPECT_EQ(results[0].output, "true");
  EXPECT_EQ(results[1].code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(results[1].error, HasSubstr("abc"));
  EXPECT_EQ(results[2].output, "false");
  EXPECT_EQ(results[3].code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(results[4].output, "false");
  // One chunk, so one worker ran all of it.
  for (const TaskResult& result : results) {
    EXPECT_EQ(result.worker_pid, results[0].worker_pid);
    EXPECT_EQ(result.attempts, 1u);
  }
}

TEST_F(ChunkTest, StatusCountsItemsNotChunks) {
  const std::vector<std::string> inputs = Numbers(100);
  const std::vector<TaskResult> results = client_->map("echo", inputs, 10);
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(results[i].output, inputs[i]);
  client_->map("fail", {"a", "b", "c"}, 3);

  auto status = client_->status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->tasks_submitted, 103u);
  EXPECT_EQ(status->tasks_succeeded, 100u);
  EXPECT_EQ(status->tasks_failed, 3u);
  const uint64_t worker_tasks = std::accumulate(
      status->workers.begin(), status->workers.end(), uint64_t{0},
      [](uint64_t sum, const WorkerInfo& worker) { return sum + worker.tasks_done; });
  EXPECT_EQ(worker_tasks, 103u);
  for (const FunctionInfo& function : status->functions) {
    if (function.name == "echo") {
      EXPECT_EQ(function.submitted, 100u);
      EXPECT_EQ(function.succeeded, 100u);
      EXPECT_EQ(function.run_time.count, 100u);
    } else if (function.name == "fail") {
      ASSERT_EQ(function.failed.size(), 1u);
      EXPECT_EQ(function.failed[0].first, ErrorCode::kTaskFailed);
      EXPECT_EQ(function.failed[0].second, 3u);
    }
  }
}

TEST_F(ChunkTest, TheTimeoutAppliesToEachItemNotTheWholeChunk) {
  SubmitOptions options;
  options.timeout = std::chrono::milliseconds(700);
  // 3 x 300 ms: the chunk runs 900 ms, each item well under 700 ms.
  for (const TaskResult& result : client_->map("sleep", {"300", "300", "300"}, 3, options)) {
    EXPECT_TRUE(result.ok()) << result.status().ToString();
  }
  // One item over it: the worker is killed, so the whole chunk times out.
  for (const TaskResult& result : client_->map("sleep", {"10", "5000", "10"}, 3, options)) {
    EXPECT_EQ(result.code, ErrorCode::kTimeout);
    EXPECT_THAT(result.error, HasSubstr("700 ms"));
  }
}

TEST_F(ChunkTest, AWorkerDyingInAChunkFailsEveryItemOfItOnly) {
  // The first item would fail on its own, the second kills the worker:
  // the chunk's results die with it.
  SubmitOptions options;
  options.max_retries = 1;
  const std::vector<TaskResult> died =
      client_->map("crash", {"not a way to crash", "segv", "exit"}, 3, options);
  for (const TaskResult& result : died) {
    EXPECT_EQ(result.code, ErrorCode::kWorkerDied) << result.error;
    EXPECT_EQ(result.attempts, 2u);  // the whole chunk was retried once
  }
  // Other chunks and later work are unaffected.
  const std::vector<TaskResult> after = client_->map("echo", {"a", "b"}, 2);
  EXPECT_EQ(after[0].output, "a");
  EXPECT_EQ(after[1].output, "b");
}

TEST_F(ChunkTest, MapOutputsGivesWhatMapGivesAtEveryChunksize) {
  // Small items (chunks), items too large to share a chunk (single tasks,
  // through the payload arena), and failures among them.
  std::vector<std::string> inputs = Numbers(3000);
  inputs[17] = "abc";
  inputs[2000] = "";
  inputs.emplace_back(200 * 1024, 'L');
  for (const size_t chunksize : {size_t{1}, size_t{7}, size_t{1024}}) {
    const std::vector<TaskResult> expected = client_->map("is_prime", inputs, chunksize);
    const MapOutputs outputs = client_->map_outputs("is_prime", inputs, chunksize);
    ASSERT_EQ(outputs.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_EQ(outputs.ok(i), expected[i].ok()) << i << " at chunksize " << chunksize;
      ASSERT_EQ(outputs[i], expected[i].output) << i << " at chunksize " << chunksize;
      ASSERT_EQ(outputs.status(i).ToString(), expected[i].status().ToString()) << i;
    }
    EXPECT_EQ(outputs.failed(), 3u) << "abc, the empty input and the large one";
  }
  const std::vector<std::string> large(3, std::string(300 * 1024, 'x'));
  const MapOutputs echoed = client_->map_outputs("echo", large, 16);
  for (size_t i = 0; i < large.size(); ++i) EXPECT_TRUE(echoed[i] == large[i]);
  EXPECT_EQ(client_->map_outputs("echo", {}).size(), 0u);
}

TEST_F(ChunkTest, MapOutputsOfAChunkWhoseWorkerDiedFailsEachItemOfIt) {
  const MapOutputs outputs =
      client_->map_outputs("crash", {"not a way to crash", "segv", "exit", "x"}, 3);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(outputs.status(i).code(), ErrorCode::kWorkerDied);
  EXPECT_EQ(outputs.status(3).code(), ErrorCode::kInvalidArgument) << "its own chunk";
}

TEST_F(ChunkTest, ManyChunksInFlightFromManyThreadsAllComplete) {
  const std::vector<std::string> inputs = Numbers(5000);
  std::vector<std::thread> threads;
  std::vector<std::vector<TaskResult>> results(4);
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] { results[t] = client_->map("echo", inputs, 7 + t * 30); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::vector<TaskResult>& run : results) {
    ASSERT_EQ(run.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) ASSERT_EQ(run[i].output, inputs[i]);
  }
}

TEST_F(ChunkTest, MalformedOrEmptyChunksAreRejectedAtSubmission) {
  RawConnection connection(daemon_->socket_path());
  ASSERT_TRUE(connection.Greet());
  const auto submit_chunk = [&](uint64_t id, const std::string& payload) {
    v1::ClientMessage message;
    v1::Submit* submit = message.mutable_submit();
    submit->set_id(id);
    submit->set_function("echo");
    submit->set_payload(payload);
    submit->set_chunk(true);
    connection.Send(message);
    auto reply = connection.Receive();
    EXPECT_TRUE(reply.has_value() && reply->has_result());
    return reply.has_value() ? reply->result() : v1::Result();
  };
  v1::Result garbage = submit_chunk(1, "\x0a\x7f" "abc");
  EXPECT_EQ(garbage.id(), 1u);
  EXPECT_EQ(garbage.code(), v1::INVALID_ARGUMENT);
  EXPECT_THAT(garbage.error(), HasSubstr("ChunkPayload"));
  v1::Result empty = submit_chunk(2, "");
  EXPECT_EQ(empty.code(), v1::INVALID_ARGUMENT);
  EXPECT_THAT(empty.error(), HasSubstr("at least one item"));

  // The connection stays up, and a good chunk answers with a ChunkOutput.
  v1::ChunkPayload chunk;
  chunk.add_items("x");
  chunk.add_items("y");
  v1::Result good = submit_chunk(3, chunk.SerializeAsString());
  ASSERT_EQ(good.code(), v1::OK) << good.error();
  v1::ChunkOutput output;
  ASSERT_TRUE(output.ParseFromString(good.output()));
  ASSERT_EQ(output.items_size(), 2);
  EXPECT_EQ(output.items(0).output(), "x");
  EXPECT_EQ(output.items(1).output(), "y");
}

TEST_F(ChunkTest, ChunksTooBigForOnePayloadGoAsSeparateTasks) {
  // 3 x 6 MiB exceed the default 16 MiB payload limit together, not alone.
  const std::vector<std::string> inputs(3, std::string(6 << 20, 'z'));
  const std::vector<TaskResult> results = client_->map("echo", inputs, 3);
  ASSERT_EQ(results.size(), 3u);
  for (const TaskResult& result : results) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result.output.size(), inputs[0].size());
  }
}

}  // namespace
}  // namespace taskpool::testing
