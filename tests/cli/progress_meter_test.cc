// The progress line of `taskpool map --progress`, rendered without a
// terminal.
#include "cli/progress_meter.h"

#include <gtest/gtest.h>

#include <string>

#include "cli/cli_options.h"

namespace taskpool::cli {
namespace {

using std::chrono::milliseconds;

TEST(ProgressMeterTest, KnownTotalShowsPercentRateAndEta) {
  const ProgressCounts counts{
      .done = 50, .failed = 2, .in_flight = 8, .total = 200, .elapsed = milliseconds(10'000)};
  EXPECT_EQ(RenderProgress(counts, false),
            "map: 50/200 25% | 5.0/s | 8 in flight | 2 failed | 0:10 elapsed | ETA 0:30");
}

TEST(ProgressMeterTest, UnknownTotalShowsDoneAndNoEta) {
  const ProgressCounts counts{.done = 7, .failed = 0, .in_flight = 3,
                              .total = std::nullopt, .elapsed = milliseconds(3'500)};
  EXPECT_EQ(RenderProgress(counts, false),
            "map: 7 done | 2.0/s | 3 in flight | 0 failed | 0:03 elapsed");
}

TEST(ProgressMeterTest, FinishedRunHasNoEtaAndEmptyInputIsComplete) {
  EXPECT_EQ(RenderProgress({.done = 4, .total = 4, .elapsed = milliseconds(2000)}, false),
            "map: 4/4 100% | 2.0/s | 0 in flight | 0 failed | 0:02 elapsed");
  EXPECT_EQ(RenderProgress({.done = 0, .total = 0, .elapsed = milliseconds(0)}, false),
            "map: 0/0 100% | -/s | 0 in flight | 0 failed | 0:00 elapsed");
}

TEST(ProgressMeterTest, FailuresAreRedOnlyWhenColorIsWantedAndThereAreSome) {
  const ProgressCounts failing{.done = 1, .failed = 1, .elapsed = milliseconds(1000)};
  EXPECT_NE(RenderProgress(failing, true).find("\033[31m1 failed\033[0m"), std::string::npos);
  EXPECT_EQ(RenderProgress(failing, false).find('\033'), std::string::npos);
  const ProgressCounts fine{.done = 1, .elapsed = milliseconds(1000)};
  EXPECT_EQ(RenderProgress(fine, true).find('\033'), std::string::npos);
}

TEST(ProgressMeterTest, ClockFormat) {
  EXPECT_EQ(FormatClock(milliseconds(0)), "0:00");
  EXPECT_EQ(FormatClock(milliseconds(59'999)), "0:59");
  EXPECT_EQ(FormatClock(milliseconds(754'000)), "12:34");
  EXPECT_EQ(FormatClock(milliseconds(3'723'000)), "1:02:03");
}

TEST(ProgressMeterTest, ModesParseAndNeverMeansNoMeter) {
  EXPECT_EQ(ParseProgressMode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(ParseProgressMode("always"), ProgressMode::kAlways);
  EXPECT_EQ(ParseProgressMode("never"), ProgressMode::kNever);
  EXPECT_THROW(ParseProgressMode("sometimes"), UsageError);
  EXPECT_EQ(ProgressMeter::Make(ProgressMode::kNever), nullptr);
  EXPECT_NE(ProgressMeter::Make(ProgressMode::kAlways), nullptr);
}

}  // namespace
}  // namespace taskpool::cli
