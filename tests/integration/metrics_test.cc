// `taskpool metrics`: the Prometheus text exposition format, line by line.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/prometheus_parser.h"

namespace taskpool::testing {
namespace {

// The metrics of a daemon that ran three is_prime tasks, one failing task
// and one call of a function that does not exist.
class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCli(daemon_.socket_path(), {"map", "is_prime", "7", "8", "9"})
                  .exit_code,
              0);
    ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "fail", "boom"}).exit_code,
              1);
    ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "no_such_function", "x"})
                  .exit_code,
              1);
    const CommandResult result = RunCli(daemon_.socket_path(), {"metrics"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    metrics_ = ParsePrometheusText(result.out);
    for (const std::string& error : metrics_.errors) ADD_FAILURE() << error;
  }

  DaemonProcess daemon_{2};
  PrometheusText metrics_;
};

TEST_F(MetricsTest, Totals) {
  EXPECT_EQ(metrics_.Value("taskpool_tasks_submitted_total"), 5);
  EXPECT_EQ(metrics_.Value("taskpool_tasks_succeeded_total"), 3);
  EXPECT_EQ(metrics_.Value("taskpool_tasks_failed_total"), 2);
  EXPECT_EQ(metrics_.Value("taskpool_queue_capacity"), 256);
  EXPECT_TRUE(metrics_.Value("taskpool_uptime_seconds").has_value());
  EXPECT_EQ(metrics_.Count("taskpool_worker_tasks_done_total"), 2u);
  EXPECT_EQ(metrics_.Count("taskpool_worker_restarts_total"), 2u);
  EXPECT_EQ(metrics_.Value("taskpool_build_info", {{"version", TASKPOOL_VERSION}}), 1);
  EXPECT_GT(metrics_.Value("process_start_time_seconds").value_or(0), 1.7e9);
  EXPECT_EQ(metrics_.Value("taskpool_workers_died_total"), 0);
  for (const std::string reason : {"reload", "max_tasks", "max_rss", "killed"}) {
    EXPECT_EQ(metrics_.Value("taskpool_workers_replaced_total", {{"reason", reason}}), 0)
        << reason;
  }
  EXPECT_EQ(metrics_.Value("taskpool_workers", {{"state", "idle"}}), 2);
  // The pid is a value, never a label (it would move on every respawn).
  for (const PrometheusSample& sample : metrics_.samples) {
    EXPECT_EQ(sample.labels.count("pid"), 0u) << sample.name;
  }
  EXPECT_EQ(metrics_.Count("taskpool_worker_pid"), 2u);
}

TEST_F(MetricsTest, PerWorkerMemoryAndCpu) {
  EXPECT_EQ(metrics_.types.at("taskpool_worker_resident_memory_bytes"),
            "gauge");
  EXPECT_EQ(metrics_.types.at("taskpool_worker_cpu_seconds_total"), "counter");
  for (const std::string worker : {"0", "1"}) {
    const std::optional<double> rss = metrics_.Value(
        "taskpool_worker_resident_memory_bytes", {{"worker", worker}});
    ASSERT_TRUE(rss.has_value()) << worker;
    EXPECT_GT(*rss, 0) << worker;
    EXPECT_TRUE(metrics_
                    .Value("taskpool_worker_cpu_seconds_total",
                           {{"worker", worker}, {"mode", "user"}})
                    .has_value());
    EXPECT_TRUE(metrics_
                    .Value("taskpool_worker_cpu_seconds_total",
                           {{"worker", worker}, {"mode", "system"}})
                    .has_value());
  }
}

TEST_F(MetricsTest, PerFunctionCountersByErrorCode) {
  const auto value = [&](const std::string& name,
                         std::map<std::string, std::string> labels) {
    return metrics_.Value(name, labels);
  };
  EXPECT_EQ(value("taskpool_function_tasks_submitted_total",
                  {{"function", "is_prime"}}),
            3);
  EXPECT_EQ(value("taskpool_function_tasks_succeeded_total",
                  {{"function", "is_prime"}}),
            3);
  EXPECT_EQ(
      value("taskpool_function_tasks_submitted_total", {{"function", "fail"}}),
      1);
  EXPECT_EQ(
      value("taskpool_function_tasks_succeeded_total", {{"function", "fail"}}),
      0);
  EXPECT_EQ(value("taskpool_function_tasks_failed_total",
                  {{"function", "fail"}, {"code", "TASK_FAILED"}}),
            1);
  // Unknown names count in the totals only: no series per made-up name.
  EXPECT_EQ(metrics_.Count("taskpool_function_tasks_submitted_total"), 2u);
  EXPECT_EQ(metrics_.Count("taskpool_function_tasks_failed_total"), 1u);
}

TEST_F(MetricsTest, LatencyHistogramsPerFunction) {
  for (const std::string family : {"taskpool_function_queue_wait_seconds",
                                   "taskpool_function_run_seconds"}) {
    EXPECT_EQ(metrics_.types.at(family), "histogram");
    // Cumulative buckets, the same bounds for every function and daemon,
    // ending at +Inf with every task.
    double previous = 0;
    size_t buckets = 0;
    for (const PrometheusSample& sample : metrics_.samples) {
      if (sample.name != family + "_bucket" || sample.labels.at("function") != "is_prime") {
        continue;
      }
      ++buckets;
      EXPECT_GE(sample.value, previous) << family << " le=" << sample.labels.at("le");
      previous = sample.value;
    }
    EXPECT_EQ(buckets, 22u) << family;  // 21 bounds and +Inf
    EXPECT_EQ(metrics_.Value(family + "_bucket", {{"function", "is_prime"}, {"le", "+Inf"}}),
              3);
    EXPECT_EQ(metrics_.Value(family + "_bucket", {{"function", "is_prime"}, {"le", "1800"}}),
              3);
    EXPECT_EQ(metrics_.Value(family + "_count", {{"function", "is_prime"}}), 3);
    EXPECT_EQ(metrics_.Value(family + "_count", {{"function", "fail"}}), 1);
    EXPECT_TRUE(metrics_.Value(family + "_sum", {{"function", "is_prime"}})
                    .has_value());
    EXPECT_TRUE(metrics_.Value(family + "_max", {{"function", "is_prime"}})
                    .has_value());
  }
}

}  // namespace
}  // namespace taskpool::testing
