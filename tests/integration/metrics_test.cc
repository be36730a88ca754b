// `taskpool metrics`: the Prometheus text exposition format, line by line.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

TEST(MetricsTest, PrintsPrometheusTextFormat) {
  DaemonProcess daemon(2);
  ASSERT_EQ(RunCli(daemon.socket_path(), {"map", "is_prime", "7", "8", "9"}).exit_code, 0);
  ASSERT_EQ(RunCli(daemon.socket_path(), {"call", "fail", "boom"}).exit_code, 1);
  const CommandResult result = RunCli(daemon.socket_path(), {"metrics"});
  ASSERT_EQ(result.exit_code, 0) << result.err;

  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")"
      R"((,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+]+))");
  std::set<std::string> helped, typed;
  std::map<std::string, double> unlabelled;
  std::map<std::string, int> labelled_count;
  std::istringstream lines(result.out);
  std::string current_family;
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_match(line, match, help)) {
      helped.insert(match[1]);
      current_family = match[1];
    } else if (std::regex_match(line, match, type)) {
      EXPECT_EQ(match[1], current_family) << "TYPE must follow its HELP: " << line;
      EXPECT_TRUE(typed.insert(match[1]).second) << "TYPE repeated: " << line;
    } else if (std::regex_match(line, match, sample)) {
      EXPECT_EQ(match[1], current_family) << "sample outside its family: " << line;
      if (match[2].matched) {
        ++labelled_count[match[1]];
      } else {
        unlabelled[match[1]] = std::stod(match[4]);
      }
    } else {
      ADD_FAILURE() << "not Prometheus text format: '" << line << "'";
    }
  }
  EXPECT_EQ(helped, typed);
  EXPECT_EQ(unlabelled["taskpool_tasks_submitted_total"], 4);
  EXPECT_EQ(unlabelled["taskpool_tasks_succeeded_total"], 3);
  EXPECT_EQ(unlabelled["taskpool_tasks_failed_total"], 1);
  EXPECT_EQ(unlabelled["taskpool_queue_capacity"], 1024);
  EXPECT_EQ(unlabelled.count("taskpool_uptime_seconds"), 1u);
  EXPECT_EQ(labelled_count["taskpool_worker_tasks_done_total"], 2);
  EXPECT_EQ(labelled_count["taskpool_worker_restarts_total"], 2);
}

}  // namespace
}  // namespace taskpool::testing
