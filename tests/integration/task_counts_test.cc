// Counts add up (issue 14, item 8), on the real daemon: under a mix of
// successes, failures, cancels (queued and running) and a client that
// disconnects with tasks queued, submitted = succeeded + failed +
// cancelled + in flight holds in every status, mid-flight (with the tasks
// in flight counted) and at quiescence, per function and in total, and the
// cancellations are counted by reason.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

// protobuf's JSON mapping writes 64-bit integers as decimal strings, and
// leaves out fields that are 0.
uint64_t Number(const nlohmann::json& object, const char* field) {
  return object.contains(field) ? std::stoull(object[field].get<std::string>()) : 0;
}

nlohmann::json StatusJson(const DaemonProcess& daemon) {
  const CommandResult result = RunCli(daemon.socket_path(), {"--json", "status"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

uint64_t CancelledFor(const nlohmann::json& reasons, const std::string& reason) {
  for (const nlohmann::json& entry : reasons) {
    if (entry["reason"] == reason) return Number(entry, "count");
  }
  return 0;
}

// Checks `status` against what is independent of how in flight is
// derived (submitted less every end, so the identity itself always holds):
// no count ends up above what was submitted (a double count would wrap),
// what is queued or running is in flight, and the functions' counts sum
// to the totals. Returns the functions' in-flight counts by name.
std::map<std::string, uint64_t> ExpectCountsAddUp(const nlohmann::json& status) {
  const uint64_t in_flight_total = Number(status, "tasks_in_flight");
  EXPECT_LE(in_flight_total, Number(status, "tasks_submitted")) << status.dump();
  EXPECT_GE(in_flight_total,
            status.value("queue_depth", uint64_t{0}) + status.value("running", uint64_t{0}))
      << status.dump();
  uint64_t by_reason = 0;
  for (const nlohmann::json& entry : status["tasks_cancelled_by_reason"]) {
    by_reason += Number(entry, "count");
  }
  EXPECT_EQ(by_reason, Number(status, "tasks_cancelled")) << status.dump();
  std::map<std::string, uint64_t> in_flight;
  uint64_t submitted_sum = 0;
  uint64_t in_flight_sum = 0;
  for (const nlohmann::json& function : status.value("functions", nlohmann::json::array())) {
    uint64_t failed = 0;
    for (const nlohmann::json& entry : function.value("failed", nlohmann::json::array())) {
      EXPECT_NE(entry["code"], "CANCELLED") << "a cancellation is no failure";
      failed += Number(entry, "count");
    }
    EXPECT_LE(Number(function, "succeeded") + failed + Number(function, "cancelled"),
              Number(function, "submitted"))
        << function.dump();
    in_flight[function["name"]] = Number(function, "in_flight");
    submitted_sum += Number(function, "submitted");
    in_flight_sum += Number(function, "in_flight");
  }
  EXPECT_EQ(submitted_sum, Number(status, "tasks_submitted")) << status.dump();
  EXPECT_EQ(in_flight_sum, in_flight_total) << status.dump();
  return in_flight;
}

TEST(TaskCountsTest, SubmittedIsSucceededPlusFailedPlusCancelledPlusInFlight) {
  DaemonProcess daemon(2);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  std::atomic<size_t> results{0};
  const auto count = [&](TaskResult) { ++results; };

  // Two blockers hold both workers, so everything after them waits.
  const uint64_t blocker_a = client->submit("sleep", "600000", count);
  const uint64_t blocker_b = client->submit("sleep", "600000", count);
  ASSERT_TRUE(WaitFor([&] {
    const Result<PoolStatus> status = client->status();
    return status.ok() && status->running == 2;
  }));
  for (int i = 0; i < 50; ++i) client->submit("echo", std::to_string(i), count);
  for (int i = 0; i < 20; ++i) client->submit("fail", "on purpose", count);
  std::vector<uint64_t> to_cancel;
  for (int i = 0; i < 10; ++i) {
    const uint64_t id = client->submit("echo", "c", count);
    if (i % 2 == 0) to_cancel.push_back(id);
  }
  {
    auto leaving = ConnectTo(daemon.socket_path());
    ASSERT_NE(leaving, nullptr);
    for (int i = 0; i < 10; ++i) leaving->submit("echo", "gone", [](TaskResult) {});
    // Its status comes after its submissions, so they are all in.
    ASSERT_TRUE(leaving->status().ok());
    ASSERT_TRUE(client->status().ok());  // and so are this client's

    // Mid-flight: every task is in flight, two of them running.
    const nlohmann::json status = StatusJson(daemon);
    std::map<std::string, uint64_t> in_flight = ExpectCountsAddUp(status);
    EXPECT_EQ(Number(status, "tasks_in_flight"), 92u) << status.dump();
    EXPECT_EQ(in_flight["sleep"], 2u);
    EXPECT_EQ(in_flight["echo"], 70u);
    EXPECT_EQ(in_flight["fail"], 20u);
  }  // `leaving` disconnects with its 10 tasks queued

  ASSERT_TRUE(WaitFor([&] {
    return CancelledFor(StatusJson(daemon)["tasks_cancelled_by_reason"], "disconnect") == 10;
  })) << StatusJson(daemon).dump();
  for (const uint64_t id : to_cancel) client->cancel(id);
  client->cancel(blocker_a, /*kill_running=*/true);
  client->cancel(blocker_b, /*kill_running=*/true);

  // Every snapshot on the way adds up, whatever is running or queued.
  ASSERT_TRUE(WaitFor([&] {
    ExpectCountsAddUp(StatusJson(daemon));
    return results.load() == 82;
  })) << results.load() << " results";

  const nlohmann::json status = StatusJson(daemon);
  std::map<std::string, uint64_t> in_flight = ExpectCountsAddUp(status);
  EXPECT_EQ(Number(status, "tasks_in_flight"), 0u) << status.dump();
  for (const auto& [function, count] : in_flight) EXPECT_EQ(count, 0u) << function;
  EXPECT_EQ(Number(status, "tasks_submitted"), 92u);
  EXPECT_EQ(Number(status, "tasks_succeeded"), 55u);
  EXPECT_EQ(Number(status, "tasks_failed"), 20u);
  EXPECT_EQ(Number(status, "tasks_cancelled"), 17u);
  const nlohmann::json& reasons = status["tasks_cancelled_by_reason"];
  EXPECT_EQ(CancelledFor(reasons, "client"), 7u) << reasons.dump();
  EXPECT_EQ(CancelledFor(reasons, "disconnect"), 10u) << reasons.dump();
  EXPECT_EQ(CancelledFor(reasons, "shutdown"), 0u) << reasons.dump();

  // The metrics say the same.
  const CommandResult metrics = RunCli(daemon.socket_path(), {"metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  EXPECT_NE(metrics.out.find("taskpool_tasks_cancelled_total{reason=\"disconnect\"} 10"),
            std::string::npos)
      << metrics.out;
  EXPECT_NE(metrics.out.find("taskpool_tasks_in_flight 0"), std::string::npos) << metrics.out;
}

}  // namespace
}  // namespace taskpool::testing
