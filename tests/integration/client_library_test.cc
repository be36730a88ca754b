// The client library against the real daemon.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

class ClientLibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(2);
    client_ = Connect();
  }

  std::unique_ptr<Client> Connect() { return ConnectTo(daemon_->socket_path()); }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

const std::vector<std::string> kTutorialNumbers = {
    "222377", "3334", "2212", "3345", "23441", "454577", "341737", "565633"};

TEST_F(ClientLibraryTest, BuiltinsAnswer) {
  EXPECT_EQ(client_->call("is_prime", "454577").output, "true");
  EXPECT_EQ(client_->call("is_prime", "222377").output, "false");
  EXPECT_EQ(client_->call("echo", "hello").output, "hello");
  EXPECT_EQ(client_->call("sha256", "abc").output,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TaskResult slept = client_->call("sleep", "20");
  EXPECT_TRUE(slept.ok()) << slept.error;
  EXPECT_GE(slept.run_time, std::chrono::milliseconds(20));
  TaskResult failed = client_->call("fail", "on purpose");
  EXPECT_EQ(failed.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(failed.error, "on purpose");
  EXPECT_GT(failed.worker_pid, 0);
}

TEST_F(ClientLibraryTest, ResultsCarryWorkerPidAndTimings) {
  TaskResult result = client_->call("sleep", "10");
  ASSERT_TRUE(result.ok());
  EXPECT_NE(result.worker_pid, daemon_->pid());
  EXPECT_GT(result.worker_pid, 0);
  EXPECT_EQ(result.attempts, 1u);
  EXPECT_GT(result.finished, result.started);
}

TEST_F(ClientLibraryTest, MapKeepsInputOrderForEveryChunksize) {
  const std::vector<std::string> expected = {"false", "false", "false", "false",
                                             "false", "true",  "false", "false"};
  for (size_t chunksize : {1u, 3u, 8u, 100u}) {
    std::vector<TaskResult> results = client_->map("is_prime", kTutorialNumbers, chunksize);
    ASSERT_EQ(results.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(results[i].output, expected[i]) << kTutorialNumbers[i] << " chunksize " << chunksize;
    }
  }
}

TEST_F(ClientLibraryTest, MapOfSlowTasksUsesSeveralWorkers) {
  std::vector<std::string> inputs(6, "100");
  std::set<int> pids;
  for (const TaskResult& result : client_->map("sleep", inputs)) {
    ASSERT_TRUE(result.ok()) << result.error;
    pids.insert(result.worker_pid);
  }
  EXPECT_EQ(pids.size(), 2u);
}

TEST_F(ClientLibraryTest, ImapStreamsResultsBeforeTheInputEnds) {
  // The source blocks on its 6th input until the first result was seen, so
  // the test only finishes if results stream while input is still pending.
  std::atomic<bool> first_result_seen{false};
  size_t produced = 0;
  auto source = [&]() -> std::optional<std::string> {
    if (produced == 10) return std::nullopt;
    if (produced == 5) {
      EXPECT_TRUE(first_result_seen.load()) << "imap pulled input 6 before yielding result 1";
    }
    return std::to_string(produced++ + 2);
  };
  ResultStream stream = client_->imap("is_prime", source, 1, /*window=*/4);
  size_t index = 0;
  while (auto item = stream.next()) {
    first_result_seen = true;
    EXPECT_EQ(item->index, index);
    ++index;
  }
  EXPECT_EQ(index, 10u);
}

TEST_F(ClientLibraryTest, ImapUnorderedYieldsEveryInputOnce) {
  std::vector<std::string> inputs = {"200", "1", "100", "1"};
  std::vector<size_t> order;
  ResultStream stream = client_->imap_unordered("sleep", inputs);
  while (auto item = stream.next()) {
    ASSERT_TRUE(item->result.ok());
    order.push_back(item->index);
  }
  ASSERT_EQ(order.size(), 4u);
  EXPECT_NE(order.front(), 0u) << "the 200 ms task should not finish first";
  EXPECT_EQ(std::set<size_t>(order.begin(), order.end()).size(), 4u);
}

TEST_F(ClientLibraryTest, SubmitWithCallbackAndTimedWait) {
  std::promise<TaskResult> delivered;
  client_->submit("echo", "via callback",
                  [&](TaskResult result) { delivered.set_value(std::move(result)); });
  auto future = delivered.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get().output, "via callback");

  TaskResult timed_out = client_->call_for("sleep", "500", std::chrono::milliseconds(50));
  EXPECT_EQ(timed_out.code, ErrorCode::kWaitTimeout);
}

TEST_F(ClientLibraryTest, ManyConcurrentClients) {
  constexpr int kClients = 16, kCallsEach = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = Connect();
      if (!client) return;
      for (int i = 0; i < kCallsEach; ++i) {
        const std::string payload = std::to_string(c) + ":" + std::to_string(i);
        TaskResult result = client->call("echo", payload);
        if (result.ok() && result.output == payload) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kClients * kCallsEach);
}

TEST_F(ClientLibraryTest, OneClientSharedByManyThreads) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string payload = std::to_string(t * 1000 + i);
        if (client_->call("echo", payload).output == payload) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST_F(ClientLibraryTest, LargePayloadsTravelBothWays) {
  const std::string big(3 << 20, 'x');  // above the inline slot size
  TaskResult result = client_->call("echo", big);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.output.size(), big.size());
  EXPECT_EQ(result.output, big);
}

TEST_F(ClientLibraryTest, PipelinedFloodBeyondQueueCapacityCompletes) {
  // More tasks than the 1024 slots: the daemon stops reading the client
  // while the queue is full instead of failing or growing without bound.
  std::vector<std::string> inputs(5000, "x");
  std::vector<TaskResult> results = client_->map("echo", inputs, 1);
  ASSERT_EQ(results.size(), inputs.size());
  for (const TaskResult& result : results) ASSERT_TRUE(result.ok()) << result.error;
}

// Issue 12: 3,000 submit() calls used to take as long as the daemon took
// to run them, because a full queue stops the daemon reading and submit()
// waited in write(). Both workers sleep first, so no echo can finish before
// the sleeps end: if every submit has returned by then, none waited.
TEST(ClientBacklogTest, SubmitReturnsAtOnceWhileTheQueueIsFull) {
  DaemonProcess daemon(2, {"--queue-capacity", "4"});
  std::unique_ptr<Client> client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  constexpr size_t kEchoes = 3000;  // far beyond the queue and the socket buffers
  std::vector<std::atomic<int>> seen(kEchoes);
  std::atomic<size_t> echoes_done{0}, echoes_ok{0}, sleeps_ok{0};
  std::promise<void> all_done;
  std::atomic<size_t> remaining{kEchoes + 2};
  const auto finished = [&] {
    if (--remaining == 0) all_done.set_value();
  };
  for (int worker = 0; worker < 2; ++worker) {
    client->submit("sleep", "2000", [&](TaskResult result) {
      sleeps_ok += result.ok();
      finished();
    });
  }
  for (size_t i = 0; i < kEchoes; ++i) {
    client->submit("echo", std::to_string(i), [&, i](TaskResult result) {
      ++seen[i];
      echoes_ok += result.ok() && result.output == std::to_string(i);
      ++echoes_done;
      finished();
    });
  }
  EXPECT_EQ(echoes_done, 0u) << "submit() waited for the daemon to take tasks";

  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(60)),
            std::future_status::ready)
      << remaining << " results missing";
  EXPECT_EQ(sleeps_ok, 2u);
  EXPECT_EQ(echoes_ok, kEchoes);
  size_t not_once = 0;
  for (const auto& count : seen) not_once += count != 1;
  EXPECT_EQ(not_once, 0u);
}

TEST_F(ClientLibraryTest, WorkerKilledMidTaskGivesWorkerDiedAndIsReplaced) {
  auto doomed = client_->submit("sleep", "10000");
  // Wait until a worker is running it.
  const pid_t busy_pid = WaitForBusyWorker(*client_);
  ASSERT_GT(busy_pid, 0);
  kill(busy_pid, SIGKILL);
  TaskResult result = doomed.get();
  EXPECT_EQ(result.code, ErrorCode::kWorkerDied);
  EXPECT_NE(result.error.find("SIGKILL"), std::string::npos) << result.error;
  EXPECT_EQ(result.worker_pid, 0);
  // The pool serves, and is whole again once the slot is respawned (a
  // worker that dies young is respawned after a short backoff).
  EXPECT_EQ(client_->call("echo", "after").output, "after");
  int live = 0;
  for (int attempt = 0; attempt < 100 && live != 2; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto status = client_->status();
    ASSERT_TRUE(status.ok());
    live = 0;
    for (const auto& worker : status->workers) live += worker.state != WorkerState::kDead;
  }
  EXPECT_EQ(live, 2);
}

TEST_F(ClientLibraryTest, DaemonKilledMidCallFailsPendingCallsPromptly) {
  auto pending = client_->submit("sleep", "10000");
  ASSERT_TRUE(client_->ping().ok());
  daemon_->StopWith(SIGKILL);
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(pending.get().code, ErrorCode::kConnectionLost);
  EXPECT_EQ(client_->call("echo", "x").code, ErrorCode::kConnectionLost);
}

TEST(ClientLibraryWithoutDaemon, ConnectReportsDaemonNotRunning) {
  ClientOptions options;
  options.socket_path = "/tmp/taskpool-no-such-dir/taskpoold.sock";
  auto client = Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kDaemonNotRunning);
  EXPECT_NE(client.status().message().find(options.socket_path), std::string::npos);
}

}  // namespace
}  // namespace taskpool::testing
