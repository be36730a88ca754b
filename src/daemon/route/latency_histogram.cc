#include "daemon/route/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace taskpool::daemon {

namespace {

constexpr uint64_t kSubBuckets = uint64_t{1}
                                 << LatencyHistogram::kSubBucketBits;

}  // namespace

size_t LatencyHistogram::BucketOf(uint64_t value) {
  if (value < kSubBuckets) return static_cast<size_t>(value);
  const int exponent = std::bit_width(value) - 1;  // value in [2^e, 2^(e+1))
  if (exponent >= kMaxExponent) return kBucketCount - 1;
  // The kSubBucketBits bits below the leading one pick the sub-bucket.
  const uint64_t sub =
      (value >> (exponent - kSubBucketBits)) & (kSubBuckets - 1);
  return static_cast<size_t>((exponent - kSubBucketBits + 1) * kSubBuckets +
                             sub);
}

uint64_t LatencyHistogram::UpperBound(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  if (bucket >= kBucketCount - 1) return std::numeric_limits<uint64_t>::max();
  const int exponent =
      static_cast<int>(bucket / kSubBuckets) + kSubBucketBits - 1;
  const uint64_t sub = bucket % kSubBuckets;
  const int width_bits = exponent - kSubBucketBits;
  return ((kSubBuckets + sub + 1) << width_bits) - 1;
}

void LatencyHistogram::Record(uint64_t value) {
  ++buckets_[BucketOf(value)];
  ++count_;
  sum_ += value;
  max_ = std::max(max_, value);
}

std::vector<uint64_t> LatencyHistogram::CountsUpTo(std::span<const uint64_t> bounds) const {
  std::vector<uint64_t> counts(bounds.size() + 1, 0);
  if (count_ == 0) return counts;
  size_t bound = 0;
  for (size_t bucket = 0; bucket < kBucketCount; ++bucket) {
    if (buckets_[bucket] == 0) continue;
    const uint64_t largest = std::min(UpperBound(bucket), max_);
    while (bound < bounds.size() && bounds[bound] < largest) ++bound;
    counts[bound] += buckets_[bucket];
  }
  return counts;
}

uint64_t LatencyHistogram::Percentile(double quantile) const {
  if (count_ == 0) return 0;
  // The rank of the value wanted, 1-based: the p50 of 10 values is the 5th.
  const auto rank = std::max<uint64_t>(
      1,
      static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t bucket = 0; bucket < kBucketCount; ++bucket) {
    seen += buckets_[bucket];
    if (seen >= rank) return std::min(UpperBound(bucket), max_);
  }
  return max_;
}

}  // namespace taskpool::daemon
