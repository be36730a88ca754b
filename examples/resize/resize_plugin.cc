// An example plugin with a protobuf-typed function:
//
//   resize: example.ResizeRequest -> example.ResizeResponse
//
// and an on_worker_start hook whose effect shows in every response (the
// worker's pid, when the hook ran, how often: once).
//
//   taskpoold --plugin libresize_plugin.so
//   resize_client          # calls it through call<> and map
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include <taskpool/plugin_proto.hpp>

#include "resize.pb.h"

namespace {

// Per worker: each worker is its own process, so plain globals are
// per-worker state and need no locking.
uint32_t start_hook_runs = 0;
int64_t worker_started_unix_us = 0;

void RememberWorkerStart() {
  ++start_hook_runs;
  timeval now{};
  gettimeofday(&now, nullptr);
  worker_started_unix_us = now.tv_sec * int64_t{1'000'000} + now.tv_usec;
}
TASKPOOL_ON_WORKER_START(RememberWorkerStart)

example::ResizeResponse Resize(const example::ResizeRequest& request,
                               taskpool::plugin::Context&) {
  if (request.width() == 0 || request.height() == 0 ||
      request.max_side() == 0) {
    throw taskpool::plugin::TaskError(
        taskpool::ErrorCode::kInvalidArgument,
        "resize needs width, height and max_side above 0");
  }
  const uint64_t longest = std::max(request.width(), request.height());
  const uint64_t scale_to = std::min<uint64_t>(longest, request.max_side());
  // Rounded to the nearest pixel, never below one.
  const auto scaled = [&](uint64_t side) {
    return static_cast<uint32_t>(
        std::max<uint64_t>(1, (side * scale_to + longest / 2) / longest));
  };
  example::ResizeResponse response;
  response.set_width(scaled(request.width()));
  response.set_height(scaled(request.height()));
  response.set_worker_pid(getpid());
  response.set_worker_started_unix_us(worker_started_unix_us);
  response.set_start_hook_runs(start_hook_runs);
  return response;
}
TASKPOOL_PROTO_FUNCTION("resize", Resize)

}  // namespace
