#include "base/clock.h"

#include <time.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace taskpool::base {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Usable at compile time, as wire defaults are.
static_assert(WireMillis(milliseconds(5)) == 5);
static_assert(SteadyNanos(SteadyTimeFromNanos(42)) == 42);

int64_t MonotonicNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

TEST(ClockTest, SteadyNanosIsClockMonotonic) {
  // The shared-memory queue stores CLOCK_MONOTONIC readings; the two must
  // be one clock for the supervisor's and the workers' times to compare.
  const int64_t before = MonotonicNow();
  const int64_t steady = SteadyNanos(SteadyClock::now());
  const int64_t after = MonotonicNow();
  EXPECT_LE(before, steady);
  EXPECT_LE(steady, after);
}

TEST(ClockTest, SteadyNanosRoundTrips) {
  const SteadyTime now = SteadyClock::now();
  EXPECT_EQ(SteadyTimeFromNanos(SteadyNanos(now)), now);
}

TEST(ClockTest, UnixMicrosCountsFromTheEpochToTheMicrosecond) {
  EXPECT_EQ(UnixMicros(WallTime{}), 0);
  EXPECT_EQ(WallTimeFromUnixMicros(0), WallTime{});
  const WallTime time = WallTimeFromUnixMicros(1'700'000'000'123'456);
  EXPECT_EQ(UnixMicros(time), 1'700'000'000'123'456);
  // Below a microsecond is dropped.
  EXPECT_EQ(UnixMicros(time + nanoseconds(999)), 1'700'000'000'123'456);
}

TEST(ClockTest, ADeadlineOfZeroIsNone) {
  EXPECT_FALSE(DeadlineFromUnixMicros(0).has_value());
  EXPECT_EQ(UnixMicrosOfDeadline(std::nullopt), 0);
  const std::optional<WallTime> deadline = DeadlineFromUnixMicros(12345);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(UnixMicrosOfDeadline(deadline), 12345);
}

TEST(ClockTest, WireCountsTruncateAndNeverGoNegative) {
  EXPECT_EQ(WireMillis(microseconds(1999)), 1u);
  EXPECT_EQ(WireMicros(nanoseconds(2500)), 2u);
  EXPECT_EQ(WireMillis(milliseconds(-3)), 0u);
  EXPECT_EQ(WireMicros(SteadyTimeFromNanos(1000) - SteadyTimeFromNanos(5000)), 0u);
  EXPECT_EQ(WireMillis(hours(1)), 3'600'000u);
}

TEST(ClockTest, Uint32FieldsClampInsteadOfWrapping) {
  EXPECT_EQ(WireMillis32(milliseconds(1500)), 1500u);
  EXPECT_EQ(WireMillis32(hours(24 * 365)), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(WireMillis32(milliseconds::max()), std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(WireMillis32(milliseconds(-1)), 0u);
}

TEST(ClockTest, FieldsBecomeDurationsClampedAtInt64) {
  EXPECT_EQ(FromWireMillis(250), milliseconds(250));
  EXPECT_EQ(FromWireMicros(7), microseconds(7));
  EXPECT_EQ(FromWireMicros(std::numeric_limits<uint64_t>::max()), microseconds::max());
}

}  // namespace
}  // namespace taskpool::base
