// `taskpool status` and `status --json`: per-worker resources and current
// task, per-function counters and latency percentiles. The JSON is the
// StatusReply in protobuf's JSON mapping, where 64-bit integers are
// strings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

nlohmann::json StatusJson(const DaemonProcess& daemon) {
  const CommandResult result =
      RunCli(daemon.socket_path(), {"status", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

// protobuf's JSON mapping writes 64-bit integers as decimal strings.
uint64_t Uint64(const nlohmann::json& field) { return std::stoull(field.get<std::string>()); }

TEST(StatusCommandTest, JsonHasPerFunctionCountersAndLatencies) {
  DaemonProcess daemon(2);
  ASSERT_EQ(RunCli(daemon.socket_path(), {"map", "is_prime", "7", "8", "9"})
                .exit_code,
            0);
  ASSERT_EQ(RunCli(daemon.socket_path(), {"call", "fail", "boom"}).exit_code,
            1);
  const nlohmann::json status = StatusJson(daemon);

  ASSERT_EQ(status["functions"].size(), 2u) << status.dump();
  const nlohmann::json& fail = status["functions"][0];  // sorted by name
  const nlohmann::json& is_prime = status["functions"][1];
  EXPECT_EQ(fail["name"], "fail");
  EXPECT_EQ(Uint64(fail["submitted"]), 1u);
  EXPECT_EQ(Uint64(fail["succeeded"]), 0u);
  ASSERT_EQ(fail["failed"].size(), 1u) << fail.dump();
  EXPECT_EQ(fail["failed"][0]["code"], "TASK_FAILED");
  EXPECT_EQ(Uint64(fail["failed"][0]["count"]), 1u);
  EXPECT_EQ(is_prime["name"], "is_prime");
  EXPECT_EQ(Uint64(is_prime["submitted"]), 3u);
  EXPECT_EQ(Uint64(is_prime["succeeded"]), 3u);
  EXPECT_TRUE(is_prime["failed"].empty());
  for (const char* latency : {"queue_wait", "run_time"}) {
    const nlohmann::json& summary = is_prime[latency];
    EXPECT_EQ(Uint64(summary["count"]), 3u) << latency;
    EXPECT_LE(Uint64(summary["p50_us"]), Uint64(summary["p90_us"]));
    EXPECT_LE(Uint64(summary["p90_us"]), Uint64(summary["p99_us"]));
    EXPECT_LE(Uint64(summary["p99_us"]), Uint64(summary["max_us"]));
  }
  for (const nlohmann::json& worker : status["workers"]) {
    EXPECT_GT(Uint64(worker["rss_bytes"]), 0u) << worker.dump();
    EXPECT_TRUE(worker.contains("cpu_user_ms"));
    EXPECT_TRUE(worker.contains("cpu_system_ms"));
  }
}

TEST(StatusCommandTest, BusyWorkerShowsItsTaskAndClient) {
  DaemonProcess daemon(1);
  std::unique_ptr<Client> client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const uint64_t id = client->submit("sleep", "5000", [](TaskResult) {});
  ASSERT_NE(id, 0u);

  nlohmann::json worker;
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    worker = StatusJson(daemon)["workers"][0];
    if (worker["worker_state"] == "WORKER_STATE_BUSY") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(worker["worker_state"], "WORKER_STATE_BUSY") << worker.dump();
  EXPECT_EQ(worker["state"], "busy");  // the deprecated text, for older readers
  EXPECT_EQ(worker["current_function"], "sleep");
  EXPECT_EQ(Uint64(worker["current_task_id"]), id);
  EXPECT_EQ(worker["current_client_pid"], getpid());

  const CommandResult table = RunCli(daemon.socket_path(), {"status"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("RSS MiB"));
  EXPECT_THAT(table.out, HasSubstr("#" + std::to_string(id) + " pid " +
                                   std::to_string(getpid())));
  client->cancel(id, /*kill_running=*/true);
}

TEST(StatusCommandTest, TableListsFunctions) {
  DaemonProcess daemon(1);
  ASSERT_EQ(RunCli(daemon.socket_path(), {"call", "fail", "boom"}).exit_code,
            1);
  const CommandResult table = RunCli(daemon.socket_path(), {"status"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("FUNCTION"));
  EXPECT_THAT(table.out, HasSubstr("RUN p50/p90/p99"));
  EXPECT_THAT(table.out, HasSubstr("TASK_FAILED=1"));
}

}  // namespace
}  // namespace taskpool::testing
