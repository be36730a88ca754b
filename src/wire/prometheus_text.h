// The pool's status in the Prometheus text exposition format (version
// 0.0.4), built with prometheus-cpp's core (Debian's prometheus-cpp-dev):
// a registry filled from one status reply, then its text serializer. The
// one renderer behind both `taskpool metrics` and the daemon's
// /metrics (--http-listen), so the two always agree.
//
// What the metrics promise:
// - Latencies are histograms with the fixed buckets of latency_buckets.h,
//   so they can be summed across daemons; the exact maximum is a separate
//   `_max` gauge.
// - Per-worker series are labelled by the worker's number (0..workers-1),
//   which replacements keep: labels do not move on a reload or respawn.
//   The pid is not a label; `taskpool_worker_pid` holds it as a value. A
//   worker retiring in a rolling restart is left out while its
//   replacement, under the same number, is in.
// - `taskpool_workers_died_total` counts only deaths nobody asked for;
//   planned ends are `taskpool_workers_replaced_total{reason=...}`.
#pragma once

#include <string>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// The MIME type a scrape must be answered with.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

std::string RenderPrometheusText(const v1::StatusReply& status);

}  // namespace taskpool::wire
