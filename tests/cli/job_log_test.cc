// `taskpool map --joblog`: GNU parallel's joblog format.
#include "cli/job_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace taskpool::cli {
namespace {

TEST(JobLogTest, HeaderAndLinesHaveParallelsColumns) {
  EXPECT_EQ(JobLogHeader(),
            "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  const JobLogEntry entry{.seq = 3,
                          .start = std::chrono::system_clock::time_point(
                              std::chrono::microseconds(1'700'000'000'123'456)),
                          .runtime = std::chrono::microseconds(1'500'000),
                          .send_bytes = 0,
                          .receive_bytes = 42,
                          .exit_value = 2,
                          .signal = 0,
                          .command = "gzip -9 'a b.txt'"};
  EXPECT_EQ(FormatJobLogLine(entry),
            "3\t:\t1700000000.123\t     1.500\t0\t42\t2\t0\tgzip -9 'a b.txt'\n");
}

TEST(JobLogTest, OpenWritesTheHeaderAndEachEntry) {
  const std::string path = ::testing::TempDir() + "/joblog-test.txt";
  {
    Result<std::unique_ptr<JobLog>> log = JobLog::Open(path);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    (*log)->Write({.seq = 1, .command = "true"});
  }
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), JobLogHeader() + "1\t:\t0.000\t     0.000\t0\t0\t0\t0\ttrue\n");
  std::remove(path.c_str());
}

TEST(JobLogTest, AnUnwritablePathIsNamed) {
  Result<std::unique_ptr<JobLog>> log = JobLog::Open("/nonexistent/dir/joblog");
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("/nonexistent/dir/joblog"), std::string::npos);
}

}  // namespace
}  // namespace taskpool::cli
