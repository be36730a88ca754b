// Asio completion-token support for taskpool::Client, for programs that
// already run an io_context:
//
//   // callback, run on the handler's associated executor
//   taskpool::async_call(client, "is_prime", "454577",
//       boost::asio::bind_executor(io, [](taskpool::TaskResult r) { ... }));
//   // C++20 coroutine
//   taskpool::TaskResult r = co_await taskpool::async_call(
//       client, "sha256", data, boost::asio::use_awaitable);
//   // std::future
//   auto f = taskpool::async_call(client, "echo", "x",
//   boost::asio::use_future);
//
// The completion signature is void(TaskResult). The handler is invoked
// exactly once, through its associated executor (the system executor when
// it has none), never inside async_call itself. Until then the operation
// counts as outstanding work on that executor, so io_context::run() does not
// return while a task is pending.
//
// The Client need only be alive during the async_call call itself; if it is
// destroyed before the task finishes, the handler gets CANCELLED.
//
// This header needs Boost.Asio (headers only); client.hpp does not.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "taskpool/client.hpp"

namespace taskpool {

namespace asio_detail {

struct AsyncCallInitiation {
  template <typename Handler>
  void operator()(Handler&& handler, Client* client, std::string function,
                  std::string payload, SubmitOptions options) const {
    using HandlerType = std::decay_t<Handler>;
    // std::function (what submit takes) needs a copyable callable, and
    // completion handlers are often move-only (coroutine continuations).
    auto held = std::make_shared<HandlerType>(std::forward<Handler>(handler));
    auto work = boost::asio::make_work_guard(
        boost::asio::get_associated_executor(*held));
    client->submit(
        function, payload,
        [held, work](TaskResult result) mutable {
          // Runs on the client's reader thread (or right here when the
          // connection is already broken): hop to the handler's executor.
          // post, not dispatch, so the handler never runs inside
          // async_call.
          auto executor = work.get_executor();
          boost::asio::post(executor,
                            [held, result = std::move(result)]() mutable {
                              std::move (*held)(std::move(result));
                            });
          work.reset();
        },
        options);
  }
};

}  // namespace asio_detail

// Runs `function` on `payload` (like Client::call) and completes with the
// TaskResult through `token`.
template <typename CompletionToken>
auto async_call(Client& client, std::string_view function,
                std::string_view payload, CompletionToken&& token,
                const SubmitOptions& options) {
  return boost::asio::async_initiate<CompletionToken, void(TaskResult)>(
      asio_detail::AsyncCallInitiation{}, token, &client, std::string(function),
      std::string(payload), options);
}

// As above with default options. An overload, not a default argument: GCC
// 12 destroys a default-argument temporary inside `co_await` twice.
template <typename CompletionToken>
auto async_call(Client& client, std::string_view function,
                std::string_view payload, CompletionToken&& token) {
  static const SubmitOptions kDefaults;
  return async_call(client, function, payload,
                    std::forward<CompletionToken>(token), kDefaults);
}

}  // namespace taskpool
