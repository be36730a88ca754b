// Submitting never waits for the daemon to read: what it cannot take yet
// waits in the client, in order, within the send budget, whose full state
// either waits or fails the task with QUEUE_FULL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::FakeDaemon;
using ::testing::HasSubstr;

using testing::kPrompt;

// Counts the results of tasks 0..n-1 and wakes a waiter when all are in.
class Tally {
 public:
  explicit Tally(size_t n) : seen_(n) {}
  std::function<void(TaskResult)> For(size_t i) {
    return [this, i](TaskResult result) {
      ++seen_[i];
      if (result.ok() && result.output == std::to_string(i)) ++ok_;
      if (++done_ == seen_.size()) all_done_.set_value();
    };
  }
  bool WaitForAll() {
    return all_done_future_.wait_for(kPrompt) == std::future_status::ready;
  }
  size_t done() const { return done_; }
  size_t ok() const { return ok_; }
  size_t not_exactly_once() const {
    size_t wrong = 0;
    for (const auto& count : seen_) wrong += count != 1;
    return wrong;
  }

 private:
  std::vector<std::atomic<int>> seen_;
  std::atomic<size_t> done_{0};
  std::atomic<size_t> ok_{0};
  std::promise<void> all_done_;
  std::future<void> all_done_future_ = all_done_.get_future();
};

// Far more than the socket buffers hold (a few hundred small frames), so
// most of these can only wait in the client.
constexpr size_t kManyTasks = 20'000;

TEST(BacklogTest, SubmitReturnsWhileTheDaemonReadsNothing) {
  FakeDaemon daemon({.stop_reading_after = 1});
  std::unique_ptr<Client> client = testing::ConnectTo(daemon);
  ASSERT_NE(client, nullptr);
  Tally tally(kManyTasks);
  std::promise<void> submitted;
  std::thread submitter([&] {
    for (size_t i = 0; i < kManyTasks; ++i) {
      client->submit("echo", std::to_string(i), tally.For(i));
    }
    submitted.set_value();
  });
  ASSERT_TRUE(daemon.WaitUntilReadingStopped(kPrompt));
  // Every submit returns while the daemon still reads nothing more.
  const bool returned =
      submitted.get_future().wait_for(kPrompt) == std::future_status::ready;
  const size_t received_while_stopped = daemon.tasks_received();
  daemon.ResumeReading();  // also unblocks a submitter that did wait
  submitter.join();
  ASSERT_TRUE(returned) << "submit() waited for the daemon to read";
  EXPECT_LT(received_while_stopped, kManyTasks);

  ASSERT_TRUE(tally.WaitForAll()) << tally.done() << " of " << kManyTasks;
  EXPECT_EQ(tally.ok(), kManyTasks);
  EXPECT_EQ(tally.not_exactly_once(), 0u);
  EXPECT_EQ(daemon.tasks_received(), kManyTasks);
  EXPECT_TRUE(client->ping().ok());
  EXPECT_EQ(tally.not_exactly_once(), 0u);  // nothing completed twice since
}

TEST(BacklogTest, FuturesAndCallsGoInOrderBehindTheBacklog) {
  FakeDaemon daemon({.stop_reading_after = 1});
  std::unique_ptr<Client> client = testing::ConnectTo(daemon);
  ASSERT_NE(client, nullptr);
  std::vector<std::future<TaskResult>> futures;
  for (size_t i = 0; i < kManyTasks; ++i) {
    futures.push_back(client->submit("echo", std::to_string(i)));
  }
  ASSERT_TRUE(daemon.WaitUntilReadingStopped(kPrompt));
  daemon.ResumeReading();
  // A call() behind the backlog, and a ping behind that.
  EXPECT_EQ(client->call("echo", "last").output, "last");
  EXPECT_TRUE(client->ping().ok());
  for (size_t i = 0; i < futures.size(); ++i) {
    ASSERT_EQ(futures[i].wait_for(kPrompt), std::future_status::ready) << i;
    EXPECT_EQ(futures[i].get().output, std::to_string(i));
  }
}

// With an in-flight limit of 1 and a held task, the next tasks can only
// wait in the client, so the budget's edge is exact.
class FullBudgetTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kBudgetTasks = 5;

  // Submits the held task (id 1), then `waiting` echoes behind it.
  void Connect(ClientOptions::WhenUnsentFull when_full, uint64_t waiting = kBudgetTasks) {
    ClientOptions options;
    options.max_unsent_tasks = kBudgetTasks;
    options.when_unsent_full = when_full;
    client_ = testing::ConnectTo(daemon_, options);
    ASSERT_NE(client_, nullptr);
    held_ = client_->submit("hold", "held");  // in flight: the limit is met
    for (uint64_t i = 0; i < waiting; ++i) {
      waiting_.push_back(client_->submit("echo", std::to_string(i)));
    }
    ASSERT_TRUE(testing::Eventually([&] { return daemon_.held() == 1; }));
  }

  void ReleaseAndExpectAllOk() {
    daemon_.ReleaseHeld();
    EXPECT_EQ(held_.get().output, "held");
    for (size_t i = 0; i < waiting_.size(); ++i) {
      EXPECT_EQ(waiting_[i].get().output, std::to_string(i));
    }
  }

  FakeDaemon daemon_{FakeDaemon::Options{.max_in_flight = 1}};
  std::unique_ptr<Client> client_;
  std::future<TaskResult> held_;
  std::vector<std::future<TaskResult>> waiting_;
};

TEST_F(FullBudgetTest, FailPolicyEndsTheTaskAtOnceWithQueueFull) {
  Connect(ClientOptions::WhenUnsentFull::kFail);
  std::optional<TaskResult> refused;
  std::thread::id callback_thread;
  const uint64_t id = client_->submit("echo", "one too many", [&](TaskResult result) {
    callback_thread = std::this_thread::get_id();
    refused = std::move(result);
  });
  EXPECT_EQ(id, 0u);  // never sent
  ASSERT_TRUE(refused.has_value());  // completed before submit returned
  EXPECT_EQ(callback_thread, std::this_thread::get_id());
  EXPECT_EQ(refused->code, ErrorCode::kQueueFull);
  EXPECT_THAT(refused->error, HasSubstr("max_unsent_tasks"));
  std::future<TaskResult> future = client_->submit("echo", "x");
  ASSERT_EQ(future.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(future.get().code, ErrorCode::kQueueFull);
  EXPECT_EQ(client_->call("echo", "y").code, ErrorCode::kQueueFull);
  ReleaseAndExpectAllOk();
  // Room again once the backlog has gone.
  EXPECT_EQ(client_->call("echo", "after").output, "after");
}

TEST_F(FullBudgetTest, FailIfFullRefusesEvenUnderTheWaitPolicy) {
  Connect(ClientOptions::WhenUnsentFull::kWait);
  SubmitOptions fail_fast;
  fail_fast.fail_if_full = true;
  EXPECT_EQ(client_->call("echo", "x", fail_fast).code, ErrorCode::kQueueFull);
  ReleaseAndExpectAllOk();
}

TEST_F(FullBudgetTest, WaitPolicyNeverRefuses) {
  Connect(ClientOptions::WhenUnsentFull::kWait);
  SubmitOptions fail_fast;
  fail_fast.fail_if_full = true;
  ASSERT_EQ(client_->call("echo", "probe", fail_fast).code, ErrorCode::kQueueFull);
  // The budget is full: this call waits (or, if the release below comes
  // first, finds room), and is never refused.
  std::thread releaser([&] { daemon_.ReleaseHeld(); });
  EXPECT_EQ(client_->call("echo", "waited").output, "waited");
  releaser.join();
  ReleaseAndExpectAllOk();
}

TEST_F(FullBudgetTest, CancelGoesAheadOfTasksWaitingForTheOneItCancels) {
  // One task in flight, five waiting in the client for it to finish.
  Connect(ClientOptions::WhenUnsentFull::kWait);
  // Its cancel cannot wait behind them: it would wait forever.
  client_->cancel(1);  // the held task, the connection's first
  ASSERT_EQ(held_.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(held_.get().code, ErrorCode::kCancelled);
  for (size_t i = 0; i < waiting_.size(); ++i) {
    EXPECT_EQ(waiting_[i].get().output, std::to_string(i));
  }
}

TEST_F(FullBudgetTest, CancelOfAWaitingTaskFollowsIt) {
  Connect(ClientOptions::WhenUnsentFull::kWait, kBudgetTasks - 1);
  // Behind the four echoes, a second held task; cancelled before it is
  // sent, its cancel must still reach the daemon after it.
  std::optional<TaskResult> second;
  std::promise<void> second_done;
  const uint64_t id = client_->submit("hold", "second", [&](TaskResult result) {
    second = std::move(result);
    second_done.set_value();
  });
  ASSERT_NE(id, 0u);
  client_->cancel(id);
  daemon_.ReleaseHeld();  // the first: the echoes go, then the second
  ASSERT_EQ(second_done.get_future().wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(second->code, ErrorCode::kCancelled);
  ReleaseAndExpectAllOk();
}

TEST(InFlightLimitTest, TasksBeyondTheLimitWaitInTheClient) {
  FakeDaemon daemon({.max_in_flight = 3});
  std::unique_ptr<Client> client = testing::ConnectTo(daemon);
  ASSERT_NE(client, nullptr);
  std::vector<std::future<TaskResult>> results;
  for (int i = 0; i < 12; ++i) results.push_back(client->submit("hold", std::to_string(i)));
  // All 12 submitted, 3 sent: the rest go as the first are answered.
  EXPECT_TRUE(client->connected());
  for (size_t round = 1; round <= 4; ++round) {
    ASSERT_TRUE(testing::Eventually([&] { return daemon.held() == 3; }));
    EXPECT_EQ(daemon.tasks_received(), 3 * round);
    daemon.ReleaseHeld();
  }
  for (int i = 0; i < 12; ++i) EXPECT_EQ(results[i].get().output, std::to_string(i));
  EXPECT_EQ(daemon.max_in_flight_seen(), 3u);
}

}  // namespace
}  // namespace taskpool
