// Functions that exercise Context::lock() for named_lock_test.
//   hold_lock "NAME MS"  takes lock NAME, sleeps MS, returns "START FINISH"
//                        (unix microseconds while it held the lock)
//   probe_lock "NAME"    "held" if another task holds NAME, else "free"
//   lock_twice "NAME"    takes NAME twice (the second must be refused)
#include <sys/time.h>

#include <chrono>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include <taskpool/plugin.hpp>

namespace {

using taskpool::plugin::Context;
using taskpool::plugin::Output;

long long NowUnixMicros() {
  timeval now{};
  gettimeofday(&now, nullptr);
  return now.tv_sec * 1'000'000LL + now.tv_usec;
}

Output HoldLock(std::string_view payload, Context& context) {
  // The name may hold spaces: the milliseconds are the last word.
  const size_t space = payload.rfind(' ');
  int ms = -1;
  if (space != std::string_view::npos) {
    std::istringstream(std::string(payload.substr(space + 1))) >> ms;
  }
  if (ms < 0) {
    return Output::Error(taskpool::ErrorCode::kInvalidArgument,
                         "hold_lock expects 'NAME MILLISECONDS'");
  }
  const std::string_view name = payload.substr(0, space);
  const taskpool::plugin::LockGuard guard = context.lock(name);
  const long long start = NowUnixMicros();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  const long long finish = NowUnixMicros();
  return Output::Ok(std::to_string(start) + " " + std::to_string(finish));
}
TASKPOOL_FUNCTION("hold_lock", HoldLock)

Output ProbeLock(std::string_view payload, Context& context) {
  return Output::Ok(context.try_lock(payload) ? "free" : "held");
}
TASKPOOL_FUNCTION("probe_lock", ProbeLock)

Output LockTwice(std::string_view payload, Context& context) {
  const taskpool::plugin::LockGuard first = context.lock(payload);
  const taskpool::plugin::LockGuard second = context.lock(payload);
  return Output::Ok("locked twice");
}
TASKPOOL_FUNCTION("lock_twice", LockTwice)

}  // namespace
