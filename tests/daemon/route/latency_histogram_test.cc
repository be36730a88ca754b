#include "daemon/route/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace taskpool::daemon {
namespace {

TEST(LatencyHistogramTest, EmptyReadsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Percentile(0.5), 0u);
  EXPECT_EQ(histogram.max(), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (uint64_t value = 1; value <= 10; ++value) histogram.Record(value);
  EXPECT_EQ(histogram.count(), 10u);
  EXPECT_EQ(histogram.sum(), 55u);
  EXPECT_EQ(histogram.max(), 10u);
  EXPECT_EQ(histogram.Percentile(0.5), 5u);
  EXPECT_EQ(histogram.Percentile(0.9), 9u);
  EXPECT_EQ(histogram.Percentile(0.99), 10u);
  EXPECT_EQ(histogram.Percentile(1.0), 10u);
}

TEST(LatencyHistogramTest, EveryValueFallsInABucketThatHoldsIt) {
  for (uint64_t value :
       {0ull, 1ull, 31ull, 32ull, 33ull, 63ull, 64ull, 65ull, 1000ull,
        123456ull, (1ull << 35) + 12345, (1ull << 36) - 1}) {
    const size_t bucket = LatencyHistogram::BucketOf(value);
    ASSERT_LT(bucket, LatencyHistogram::kBucketCount);
    EXPECT_GE(LatencyHistogram::UpperBound(bucket), value) << value;
    if (bucket > 0) {
      EXPECT_LT(LatencyHistogram::UpperBound(bucket - 1), value) << value;
    }
  }
}

TEST(LatencyHistogramTest, BucketsAreWithinThreePercent) {
  for (uint64_t value = 32; value < (1ull << 36); value = value * 3 / 2 + 7) {
    const uint64_t bound =
        LatencyHistogram::UpperBound(LatencyHistogram::BucketOf(value));
    EXPECT_LE(static_cast<double>(bound - value), value / 32.0 + 1) << value;
  }
}

TEST(LatencyHistogramTest, PercentilesOfARandomSampleAreAccurate) {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency(8.0, 1.5);  // median ~3 ms
  std::vector<uint64_t> values;
  LatencyHistogram histogram;
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(static_cast<uint64_t>(latency(random)));
    histogram.Record(values.back());
  }
  std::sort(values.begin(), values.end());
  for (double quantile : {0.5, 0.9, 0.99}) {
    const uint64_t exact =
        values[static_cast<size_t>(quantile * values.size()) - 1];
    const uint64_t estimate = histogram.Percentile(quantile);
    EXPECT_GE(estimate, exact) << quantile;  // an upper bound ...
    EXPECT_LE(static_cast<double>(estimate), exact * 1.04 + 1)
        << quantile;  // ... within 4%
  }
  EXPECT_EQ(histogram.max(), values.back());
  EXPECT_EQ(histogram.Percentile(1.0), values.back());
}

TEST(LatencyHistogramTest, HugeValuesReadBackAsTheMaximum) {
  LatencyHistogram histogram;
  histogram.Record(1ull << 40);
  histogram.Record((1ull << 40) + 5);
  EXPECT_EQ(LatencyHistogram::BucketOf(1ull << 50),
            LatencyHistogram::kBucketCount - 1);
  EXPECT_EQ(histogram.Percentile(0.5), (1ull << 40) + 5);
  EXPECT_EQ(histogram.max(), (1ull << 40) + 5);
}

}  // namespace
}  // namespace taskpool::daemon
