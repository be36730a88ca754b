// The pool's status in the Prometheus text exposition format (version
// 0.0.4): `# HELP` and `# TYPE` before each metric family, then
// `name{label="value"} number` samples. The one renderer behind both
// `taskpool metrics` and the daemon's /metrics (--http-listen), so the two
// always agree.
//
// Latencies are summaries (quantile labels 0.5, 0.9, 0.99 plus _sum and
// _count), not histograms: the daemon computes the percentiles from its own
// fine-grained buckets, and exposing those would mean a thousand series per
// function. The exact maximum is a separate `_max` gauge.
#pragma once

#include <string>

#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::wire {

// The MIME type a scrape must be answered with.
inline constexpr char kPrometheusContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

std::string RenderPrometheusText(const v1::StatusReply& status);

}  // namespace taskpool::wire
