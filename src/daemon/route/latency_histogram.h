// A latency distribution in fixed memory: counts in log-spaced buckets,
// from which percentiles are read with a relative error of at most 1/32
// (about 3%). The layout is HdrHistogram's: values below 32 have a bucket
// each; above that, every power of two is split into 32 equal buckets.
// Values of 2^36 (in microseconds, about 19 hours) and more share one last
// bucket, read back as the exact maximum, which is kept apart.
//
// Memory: kBucketCount counters (about 9 KiB), whatever is recorded.
// Thread-safety: none; the supervisor uses it from its event loop only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace taskpool::daemon {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;  // 32 buckets per power of two
  static constexpr int kMaxExponent = 36;   // values up to 2^36 tracked
  static constexpr size_t kBucketCount =
      (size_t{1} << kSubBucketBits) +  // the exact values 0..31
      (size_t{kMaxExponent - kSubBucketBits} << kSubBucketBits) +
      1;  // everything from 2^kMaxExponent on

  void Record(uint64_t value);

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t max() const { return max_; }

  // The smallest bucket upper bound below which at least `quantile`
  // (0 < quantile <= 1) of the values lie, never above max(); 0 when
  // nothing was recorded.
  uint64_t Percentile(double quantile) const;

  // How many values fall at or below each of `bounds` (increasing) and
  // above the one before, then how many above the last: bounds.size() + 1
  // counts. A fine bucket counts under the first bound not below its
  // largest value, so a count may belong to the next bound by up to 1/32.
  std::vector<uint64_t> CountsUpTo(std::span<const uint64_t> bounds) const;

  // The bucket `value` falls in, and that bucket's largest value.
  static size_t BucketOf(uint64_t value);
  static uint64_t UpperBound(size_t bucket);

 private:
  std::array<uint64_t, kBucketCount> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace taskpool::daemon
