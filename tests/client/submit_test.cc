// call, submit (future and callback), map, call_for, and many threads on
// one Client.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using std::chrono::milliseconds;
using testing::FakeDaemon;

using SubmitTest = testing::FakeDaemonTest;

TEST_F(SubmitTest, CallReturnsOutputAndTimings) {
  const TaskResult result = client_->call("echo", "454577");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.output, "454577");
  EXPECT_EQ(result.worker_pid, 4242);
  EXPECT_EQ(result.queue_time, std::chrono::microseconds(1500));
  EXPECT_EQ(result.run_time, std::chrono::microseconds(2500));
  EXPECT_EQ(result.attempts, 1u);
}

TEST_F(SubmitTest, TaskFailureIsAResult) {
  const TaskResult result = client_->call("fail", "it broke");
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(result.error, "it broke");
  EXPECT_EQ(result.status().ToString(), "TASK_FAILED: it broke");
  EXPECT_TRUE(client_->connected());
}

TEST_F(SubmitTest, SubmitReturnsFuture) {
  std::future<TaskResult> slow = client_->submit("delay", "50");
  std::future<TaskResult> fast = client_->submit("echo", "x");
  EXPECT_EQ(fast.get().output, "x");
  EXPECT_EQ(slow.get().output, "50");
}

TEST_F(SubmitTest, SubmitCallsCallbackOnce) {
  std::promise<TaskResult> done;
  std::atomic<int> calls{0};
  client_->submit("echo", "cb", [&](TaskResult result) {
    ++calls;
    done.set_value(std::move(result));
  });
  EXPECT_EQ(done.get_future().get().output, "cb");
  // Anything that would complete it twice has happened by the next reply.
  EXPECT_TRUE(client_->ping().ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(SubmitTest, MapKeepsInputOrderAcrossChunks) {
  // The fake answers each batch in reverse order.
  std::vector<std::string> inputs;
  for (int i = 0; i < 23; ++i) inputs.push_back(std::to_string(i));
  for (size_t chunksize : {1, 3, 10, 50}) {
    const std::vector<TaskResult> results =
        client_->map("echo", inputs, chunksize);
    ASSERT_EQ(results.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(results[i].output, inputs[i]) << "chunksize " << chunksize;
    }
  }
  EXPECT_TRUE(client_->map("echo", {}).empty());
}

TEST_F(SubmitTest, MapReportsEachFailureInPlace) {
  const std::vector<TaskResult> results = client_->map("fail", {"a", "b"}, 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].error, "a");
  EXPECT_EQ(results[1].error, "b");
}

TEST_F(SubmitTest, CallForGivesUpWaiting) {
  const TaskResult result = client_->call_for("never", "", milliseconds(50));
  EXPECT_EQ(result.code, ErrorCode::kWaitTimeout);
  EXPECT_TRUE(client_->connected());
  EXPECT_EQ(client_->call_for("echo", "ok", milliseconds(5000)).output, "ok");
}

TEST_F(SubmitTest, ManyThreadsShareOneClient) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 100;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        const std::string payload = std::to_string(t) + "/" + std::to_string(i);
        const TaskResult result = (i % 2 == 0)
                                      ? client_->call("echo", payload)
                                      : client_->submit("echo", payload).get();
        if (result.output != payload) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(daemon_.tasks_received(), size_t{kThreads * kCallsPerThread});
}

TEST_F(SubmitTest, OversizedPayloadIsRefusedBeforeSending) {
  const std::string huge(2 << 20, 'x');
  EXPECT_EQ(client_->call("echo", huge).code, ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(client_->connected());
}

TEST_F(SubmitTest, LargeChunksAreSplitToFitTheFrameLimit) {
  // Ten 300 KiB inputs in one chunk would be a 3 MiB frame.
  const std::vector<std::string> inputs(10, std::string(300 << 10, 'y'));
  for (const TaskResult& result : client_->map("echo", inputs, 10)) {
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result.output.size(), size_t{300 << 10});
  }
  EXPECT_TRUE(client_->connected());
}

TEST_F(SubmitTest, ChunksOfLargeItemsAreCutIntoSmallerTasks) {
  // Small items share one task; 40 KiB ones cannot share a 60 KiB chunk,
  // so each goes alone, and 25 KiB ones go two by two (in input order).
  const size_t before = daemon_.tasks_received();
  const std::vector<std::string> small(8, std::string(1 << 10, 's'));
  EXPECT_EQ(client_->map("echo", small, 8).size(), 8u);
  EXPECT_EQ(daemon_.tasks_received() - before, 1u);

  std::vector<std::string> large;
  for (int i = 0; i < 8; ++i) large.push_back(std::string(40 << 10, char('a' + i)));
  const std::vector<TaskResult> large_results = client_->map("echo", large, 8);
  EXPECT_EQ(daemon_.tasks_received() - before, 1u + 8u);

  std::vector<std::string> middling;
  for (int i = 0; i < 8; ++i) middling.push_back(std::string(25 << 10, char('a' + i)));
  const std::vector<TaskResult> middling_results = client_->map("echo", middling, 8);
  EXPECT_EQ(daemon_.tasks_received() - before, 1u + 8u + 4u);

  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(large_results[i].output, large[i]) << i;
    EXPECT_EQ(middling_results[i].output, middling[i]) << i;
  }
}

TEST_F(SubmitTest, AMapOfLargeItemsKeepsTheWindowOfSingleTasksWhateverTheChunksize) {
  // 100 KiB items go as tasks of their own, so chunksize 16 must not widen
  // the window to 4 x 16 x 2 workers = 128 of them (12.5 MiB in flight):
  // it stays chunksize 1's, 1 MiB of inputs (more than 4 x 2 workers).
  constexpr size_t kSingleTaskWindow = (1 << 20) / (100 << 10);
  const std::vector<std::string> large(64, std::string(100 << 10, 'l'));
  std::vector<TaskResult> results;
  std::atomic<bool> mapped{false};
  std::thread mapper([&] {
    results = client_->map("hold", large, 16);
    mapped = true;
  });
  const bool window_filled =
      testing::Eventually([&] { return daemon_.held() >= kSingleTaskWindow; });
  // Every result answered frees room for the next tasks; release until
  // the map returns. (Not until the fake has received all 64 and holds
  // none: it counts a task received before it holds it.)
  const bool map_returned = testing::Eventually([&] {
    daemon_.ReleaseHeld();
    return mapped.load();
  });
  mapper.join();
  ASSERT_TRUE(window_filled);
  ASSERT_TRUE(map_returned);
  EXPECT_LE(daemon_.max_in_flight_seen(), kSingleTaskWindow);
  ASSERT_EQ(results.size(), large.size());
  for (const TaskResult& result : results) EXPECT_EQ(result.output, large[0]);
}

}  // namespace
}  // namespace taskpool
