// Plugin functions that look at their Context's cancellation flag and
// deadline, for cancellation_test.
#include <taskpool/plugin.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using taskpool::plugin::Context;
using taskpool::plugin::Output;

// Polls cancelled() until it turns true; gives up after 30 s so a broken
// flag fails the test instead of hanging it. Logs when it starts, so a test
// knows it is running, and when it sees the flag.
bool WaitForCancel(Context& context) {
  context.log("polling cancelled()");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    if (context.cancelled()) {
      context.log("saw cancelled(), stopping early");
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

Output PollCancelled(std::string_view, Context& context) {
  if (WaitForCancel(context)) {
    return Output::Error(taskpool::ErrorCode::kCancelled, "stopped early");
  }
  return Output::Ok("never cancelled");
}
TASKPOOL_FUNCTION("poll_cancelled", PollCancelled)

// Dies (taking its worker down) once cancelled: a cancelled task is not
// retried.
Output CrashWhenCancelled(std::string_view, Context& context) {
  if (WaitForCancel(context)) std::abort();
  return Output::Ok("never cancelled");
}
TASKPOOL_FUNCTION("crash_when_cancelled", CrashWhenCancelled)

// "yes" or "no": whether the flag is set as the task starts (a reused
// slot must not carry an earlier task's cancel).
Output CancelledNow(std::string_view, Context& context) {
  return Output::Ok(context.cancelled() ? "yes" : "no");
}
TASKPOOL_FUNCTION("cancelled_now", CancelledNow)

// The milliseconds left before the task's deadline, or "none".
Output RemainingMs(std::string_view, Context& context) {
  if (!context.has_deadline()) return Output::Ok("none");
  return Output::Ok(std::to_string(context.remaining().count()));
}
TASKPOOL_FUNCTION("remaining_ms", RemainingMs)

}  // namespace

// Its input, once cancelled (or after 30 s): a task that holds its input
// while the test does something to its client, its worker or its memory.
Output EchoWhenCancelled(std::string_view input, Context& context) {
  WaitForCancel(context);
  return Output::Ok(std::string(input));
}
TASKPOOL_FUNCTION("echo_when_cancelled", EchoWhenCancelled)
