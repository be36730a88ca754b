// Who reads the socket: a call() that is the only thing waiting reads its
// own result, without waking the reader thread; callbacks still run on the
// reader thread, whoever read their results; spinning changes nothing but
// the wait.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::FakeDaemon;

using testing::kPrompt;

// Context switches so far of this process's thread named `name`, or -1.
long ContextSwitchesOf(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    std::ifstream status(task.path() / "status");
    long switches = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.find("ctxt_switches:") != std::string::npos) {
        switches += std::stol(line.substr(line.find(':') + 1));
      }
    }
    return switches;
  }
  return -1;
}

using ReadRoleTest = testing::FakeDaemonTest;

TEST_F(ReadRoleTest, CallReadsItsOwnResultWithoutWakingTheReader) {
  ASSERT_EQ(client_->call("echo", "warm-up").output, "warm-up");
  const long before = ContextSwitchesOf("taskpool-read");
  ASSERT_GE(before, 0) << "no thread named taskpool-read";
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(client_->call("echo", std::to_string(i)).output, std::to_string(i));
  }
  ASSERT_EQ(client_->call_for("echo", "timed", std::chrono::seconds(10)).output, "timed");
  // Two round trips would be two wake-ups each if the reader read them.
  EXPECT_LE(ContextSwitchesOf("taskpool-read") - before, 2);
}

TEST_F(ReadRoleTest, CallbacksRunOnTheReaderThreadWhenACallReadsTheirResults) {
  // A call that holds the read role while it waits...
  std::promise<std::thread::id> caller_id;
  std::future<TaskResult> held = std::async(std::launch::async, [&] {
    caller_id.set_value(std::this_thread::get_id());
    return client_->call("hold", "held");
  });
  const std::thread::id caller = caller_id.get_future().get();
  ASSERT_TRUE(testing::Eventually([&] { return daemon_.tasks_received() == 1; }));
  // ...reads these results, but their callbacks run on the reader thread.
  constexpr int kCallbacks = 20;
  const std::thread::id submitter = std::this_thread::get_id();
  std::atomic<int> on_reader_thread{0};
  std::atomic<int> done{0};
  std::promise<void> all_done;
  for (int i = 0; i < kCallbacks; ++i) {
    client_->submit("echo", "cb", [&](TaskResult result) {
      EXPECT_EQ(result.output, "cb");
      const std::thread::id here = std::this_thread::get_id();
      if (here != caller && here != submitter) ++on_reader_thread;
      if (++done == kCallbacks) all_done.set_value();
    });
  }
  std::future<TaskResult> future = client_->submit("echo", "future");
  ASSERT_EQ(all_done.get_future().wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(on_reader_thread, kCallbacks);
  EXPECT_EQ(future.get().output, "future");
  daemon_.ReleaseHeld();
  EXPECT_EQ(held.get().output, "held");
}

TEST_F(ReadRoleTest, CallForTimeoutHandsTheReadToTheReaderThread) {
  std::promise<TaskResult> later;
  const TaskResult timed_out =
      client_->call_for("hold", "late", std::chrono::milliseconds(20));
  EXPECT_EQ(timed_out.code, ErrorCode::kWaitTimeout);
  // The held task is still pending; its result, and others', still arrive.
  client_->submit("echo", "next", [&](TaskResult result) { later.set_value(result); });
  daemon_.ReleaseHeld();
  auto next = later.get_future();
  ASSERT_EQ(next.wait_for(kPrompt), std::future_status::ready);
  EXPECT_EQ(next.get().output, "next");
  EXPECT_EQ(client_->call("echo", "again").output, "again");
}

TEST(SpinTest, SpinningCallsGetTheirResults) {
  FakeDaemon daemon;
  ClientOptions options;
  options.spin = ClientOptions::Spin::kAlways;
  std::unique_ptr<Client> client = testing::ConnectTo(daemon, options);
  ASSERT_NE(client, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string payload = std::to_string(t) + "/" + std::to_string(i);
        // Short and long waits both: the spin adapts to each.
        const TaskResult result = i % 10 == 0 ? client->call("delay", "2")
                                              : client->call("echo", payload);
        if (result.output != (i % 10 == 0 ? "2" : payload)) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace taskpool
