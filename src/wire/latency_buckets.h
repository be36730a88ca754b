// The bucket bounds of the latency histograms in the metrics, shared by the
// daemon (which counts its tasks into them, LatencySummary.bucket_counts)
// and the renderer (which labels them le="..."). Fixed, so histograms of
// every daemon have the same buckets and can be summed across a fleet:
// 100 µs to 30 min, about three per decade.
#pragma once

#include <array>
#include <cstdint>

namespace taskpool::wire {

inline constexpr std::array<uint64_t, 21> kLatencyBucketBoundsUs = {
    100,       250,       500,        1'000,      2'500,      5'000,        10'000,
    25'000,    50'000,    100'000,    250'000,    500'000,    1'000'000,    2'500'000,
    5'000'000, 10'000'000, 30'000'000, 60'000'000, 300'000'000, 600'000'000, 1'800'000'000};

}  // namespace taskpool::wire
