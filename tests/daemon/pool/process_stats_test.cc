#include "daemon/pool/process_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace taskpool::daemon {
namespace {

TEST(ProcessStatsTest, ParsesResidentPagesFromStatm) {
  EXPECT_EQ(ParseStatmResidentPages("5361 1405 1102 6 0 317 0\n"), 1405u);
  EXPECT_FALSE(ParseStatmResidentPages("").has_value());
  EXPECT_FALSE(ParseStatmResidentPages("5361").has_value());
  EXPECT_FALSE(ParseStatmResidentPages("x y").has_value());
}

TEST(ProcessStatsTest, ParsesCpuTicksFromStat) {
  const std::optional<CpuTicks> ticks = ParseStatCpuTicks(
      "4242 (taskpoold) S 1 4242 4242 0 -1 4194560 1203 0 0 0 17 5 0 0 20 0 1 "
      "0 "
      "1234 22003712 1405 18446744073709551615\n");
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(ticks->user, 17u);
  EXPECT_EQ(ticks->system, 5u);
}

TEST(ProcessStatsTest, CommandNameWithSpacesAndParenthesesDoesNotShiftFields) {
  const std::optional<CpuTicks> ticks = ParseStatCpuTicks(
      "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 300 40 0 0 20 0 1 0 1 1 1\n");
  ASSERT_TRUE(ticks.has_value());
  EXPECT_EQ(ticks->user, 300u);
  EXPECT_EQ(ticks->system, 40u);
}

TEST(ProcessStatsTest, TruncatedStatIsRejected) {
  EXPECT_FALSE(
      ParseStatCpuTicks("7 (x) R 1 7 7 0 -1 0 0 0 0 0 300").has_value());
  EXPECT_FALSE(ParseStatCpuTicks("no parenthesis at all").has_value());
}

TEST(ProcessStatsTest, ParsesTheStateLetterAfterTheCommandName) {
  EXPECT_EQ(ParseStatState("7 (a (b) c) T 1 7 7 0 -1 0"), 'T');
  EXPECT_EQ(ParseStatState("4242 (taskpoold) S 1 4242"), 'S');
  EXPECT_FALSE(ParseStatState("7 (x)").has_value());
  EXPECT_FALSE(ParseStatState("no parenthesis at all").has_value());
}

TEST(ProcessStatsTest, StoppedMeansStoppedBySignalOrTracer) {
  ProcessStats stats;
  for (const char state : {'T', 't'}) {
    stats.state = state;
    EXPECT_TRUE(stats.stopped()) << state;
  }
  for (const char state : {'R', 'S', 'D', 'Z'}) {
    stats.state = state;
    EXPECT_FALSE(stats.stopped()) << state;
  }
}

TEST(ProcessStatsTest, ReadsThisProcess) {
  // Touch some memory and burn a little CPU so neither number can be 0.
  std::vector<char> memory(8 << 20, 1);
  volatile uint64_t sink = 0;
  for (uint64_t i = 0; i < 50'000'000; ++i) sink = sink + i;
  const Result<ProcessStats> by_pid = ReadProcessStats(getpid());
  ASSERT_TRUE(by_pid.ok()) << by_pid.status().ToString();
  EXPECT_GE(by_pid->rss_bytes, memory.size());
  EXPECT_GT(by_pid->cpu_user_ms + by_pid->cpu_system_ms, 0u);
  EXPECT_EQ(by_pid->state, 'R');  // it is reading its own stat
  const Result<ProcessStats> own = ReadOwnProcessStats();
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_GT(own->rss_bytes, 0u);
}

TEST(ProcessStatsTest, GoneProcessIsAnErrorNamingTheFile) {
  // Pids are at most 2^22 on Linux; this one cannot exist.
  const Result<ProcessStats> stats = ReadProcessStats(1 << 23);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("/proc/8388608/statm"),
            std::string::npos)
      << stats.status().message();
}

}  // namespace
}  // namespace taskpool::daemon
