// taskpool::async_call with completion tokens.
#include "taskpool/asio.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

namespace asio = boost::asio;
using testing::FakeDaemon;

using AsioTest = testing::FakeDaemonTest;

TEST_F(AsioTest, HandlerRunsOnItsExecutor) {
  asio::io_context io;
  std::optional<TaskResult> result;
  std::thread::id handler_thread;
  async_call(*client_, "delay", "20",
             asio::bind_executor(io, [&](TaskResult r) {
               handler_thread = std::this_thread::get_id();
               result = std::move(r);
             }));
  // The pending call is outstanding work: run() waits for it.
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->output, "20");
  EXPECT_EQ(handler_thread, std::this_thread::get_id());
}

TEST_F(AsioTest, WorksWithCoroutines) {
  asio::io_context io;
  std::vector<std::string> outputs;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const char* payload : {"one", "two", "three"}) {
          TaskResult r = co_await async_call(*client_, "echo", payload,
                                             asio::use_awaitable);
          outputs.push_back(r.output);
        }
      },
      asio::detached);
  io.run();
  EXPECT_EQ(outputs, (std::vector<std::string>{"one", "two", "three"}));
}

TEST_F(AsioTest, WorksWithFutures) {
  std::future<TaskResult> result =
      async_call(*client_, "fail", "no", asio::use_future);
  EXPECT_EQ(result.get().code, ErrorCode::kTaskFailed);
}

TEST_F(AsioTest, BrokenConnectionStillCompletesThroughExecutor) {
  daemon_.CloseConnections();
  while (client_->connected()) std::this_thread::yield();
  asio::io_context io;
  std::optional<TaskResult> result;
  async_call(*client_, "echo", "x",
             asio::bind_executor(io, [&](TaskResult r) { result = r; }));
  EXPECT_FALSE(result.has_value());  // never inside async_call
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code, ErrorCode::kConnectionLost);
}

}  // namespace
}  // namespace taskpool
