// SIGHUP re-reads the configuration: a good edit is applied to the running
// daemon (more workers, the slow log on) and its workers are replaced; a
// broken edit is refused with every problem logged and the old
// configuration kept. Planned replacements are counted apart from deaths.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

constexpr auto kPatience = std::chrono::seconds(30);

nlohmann::json StatusJson(const DaemonProcess& daemon) {
  const CommandResult result = RunCli(daemon.socket_path(), {"--json", "status"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

// protobuf's JSON mapping writes 64-bit integers as decimal strings.
uint64_t Uint64(const nlohmann::json& field) { return std::stoull(field.get<std::string>()); }

// Polls `done` until it holds or kPatience passes; returns whether it held.
bool WaitFor(const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < give_up) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// Workers serving now (not retiring), all idle and attached.
size_t IdleWorkers(const nlohmann::json& status) {
  size_t idle = 0;
  for (const nlohmann::json& worker : status["workers"]) {
    if (worker.value("retiring", false)) return 0;  // a roll still under way
    if (worker["worker_state"] != "WORKER_STATE_IDLE") return 0;
    ++idle;
  }
  return idle;
}

uint64_t Replaced(const nlohmann::json& status, const std::string& reason) {
  for (const nlohmann::json& entry : status["workers_replaced"]) {
    if (entry["reason"] == reason) return Uint64(entry["count"]);
  }
  ADD_FAILURE() << "no workers_replaced entry for " << reason << ": " << status.dump();
  return 0;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

class ReloadTest : public ::testing::Test {
 protected:
  void Write(const std::string& text) { std::ofstream(config_path_) << text; }
  // Sends SIGHUP and waits for the reload's `nth` outcome line in the log.
  void ReloadAndWait(const DaemonProcess& daemon, const std::string& outcome, size_t nth) {
    ASSERT_EQ(kill(daemon.pid(), SIGHUP), 0);
    ASSERT_TRUE(WaitFor([&] { return Count(daemon.log(), outcome) >= nth; }))
        << "no '" << outcome << "' after SIGHUP:\n" << daemon.log();
  }

  TempDirectory directory_{"taskpool-reload"};
  const std::string config_path_ = directory_.File("taskpoold.conf");
};

TEST_F(ReloadTest, EditedConfigIsAppliedOnSighup) {
  Write("workers = 1\n");
  DaemonProcess daemon(-1, {"--config", config_path_});
  nlohmann::json status = StatusJson(daemon);
  ASSERT_EQ(status["workers"].size(), 1u) << status.dump();
  EXPECT_EQ(status.value("slowlog_ms", 0), 0) << status.dump();

  Write("workers = 3\nslowlog-ms = 250\n");
  ReloadAndWait(daemon, "rolling restart complete", 1);
  ASSERT_TRUE(WaitFor([&] {
    status = StatusJson(daemon);
    return IdleWorkers(status) == 3;
  })) << status.dump() << "\n" << daemon.log();
  EXPECT_EQ(status["slowlog_ms"], 250) << status.dump();
  const std::string log = daemon.log();
  EXPECT_THAT(log, HasSubstr("reload: workers: 1 -> 3"));
  EXPECT_THAT(log, HasSubstr("reload: slowlog-ms: 0 -> 250"));
  // Numbers 0..2, each once: labels that do not move.
  std::vector<uint32_t> numbers;
  for (const nlohmann::json& worker : status["workers"]) {
    numbers.push_back(worker.value("number", 0u));
  }
  std::sort(numbers.begin(), numbers.end());
  EXPECT_EQ(numbers, (std::vector<uint32_t>{0, 1, 2})) << status.dump();

  // And down again: the extra workers retire, none is counted as died.
  Write("workers = 1\nslowlog-ms = 250\n");
  ReloadAndWait(daemon, "rolling restart complete", 2);
  ASSERT_TRUE(WaitFor([&] {
    status = StatusJson(daemon);
    return IdleWorkers(status) == 1;
  })) << status.dump() << "\n" << daemon.log();
  EXPECT_EQ(Uint64(status.value("workers_died", nlohmann::json("0"))), 0u) << status.dump();
}

TEST_F(ReloadTest, BrokenEditKeepsTheRunningConfigAndLogsEveryProblem) {
  Write("workers = 2\nslowlog-ms = 100\n");
  DaemonProcess daemon(-1, {"--config", config_path_});
  Write("workers = lots\nslowlog-ms = 200\nwokers = 3\n");
  ReloadAndWait(daemon, "still running the previous one", 1);
  const std::string log = daemon.log();
  EXPECT_THAT(log, HasSubstr(config_path_ + ":1: option 'workers'"));
  EXPECT_THAT(log, HasSubstr(config_path_ + ":3: option 'wokers': unknown option"));
  EXPECT_THAT(log, HasSubstr("2 problems in " + config_path_));
  EXPECT_EQ(Count(log, "SIGHUP: replacing"), 0u) << "a refused reload rolled the workers";

  nlohmann::json status = StatusJson(daemon);
  EXPECT_EQ(status["workers"].size(), 2u) << status.dump();
  EXPECT_EQ(status["slowlog_ms"], 100) << status.dump();
  EXPECT_EQ(Replaced(status, "reload"), 0u);
  // Still serving, with the old configuration.
  EXPECT_EQ(RunCli(daemon.socket_path(), {"call", "echo", "still here"}).exit_code, 0);
}

TEST_F(ReloadTest, OptionsThatNeedARestartAreNamedAndKept) {
  Write("workers = 1\nqueue-capacity = 64\n");
  DaemonProcess daemon(-1, {"--config", config_path_});
  Write("workers = 1\nqueue-capacity = 128\n");
  ReloadAndWait(daemon, "rolling restart complete", 1);
  EXPECT_THAT(daemon.log(), HasSubstr("reload: queue-capacity changed (64 -> 128) but takes a "
                                      "restart to apply; still 64"));
  EXPECT_EQ(StatusJson(daemon)["queue_capacity"], 64);
}

TEST_F(ReloadTest, ReplacementsAreCountedApartFromDeaths) {
  Write("workers = 2\n");
  DaemonProcess daemon(-1, {"--config", config_path_});
  ReloadAndWait(daemon, "rolling restart complete", 1);
  nlohmann::json status;
  ASSERT_TRUE(WaitFor([&] {
    status = StatusJson(daemon);
    return Replaced(status, "reload") == 2 && IdleWorkers(status) == 2;
  })) << status.dump() << "\n" << daemon.log();
  EXPECT_EQ(Uint64(status.value("workers_died", nlohmann::json("0"))), 0u) << status.dump();

  const CommandResult metrics = RunCli(daemon.socket_path(), {"metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  EXPECT_THAT(metrics.out, HasSubstr("taskpool_workers_replaced_total{reason=\"reload\"} 2\n"));
  EXPECT_THAT(metrics.out, HasSubstr("taskpool_workers_died_total 0\n"));
  EXPECT_THAT(metrics.out, HasSubstr("taskpool_worker_busy{worker=\"1\"}"));
  EXPECT_EQ(metrics.out.find("pid=\""), std::string::npos) << "a pid label moves on respawn";

  // A real death is a death.
  const pid_t victim = static_cast<pid_t>(status["workers"][0]["pid"].get<int>());
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    status = StatusJson(daemon);
    return Uint64(status.value("workers_died", nlohmann::json("0"))) == 1 &&
           IdleWorkers(status) == 2;
  })) << status.dump();
  EXPECT_EQ(Replaced(status, "reload"), 2u);
}

TEST_F(ReloadTest, AnAddedPluginRunsOnceEveryWorkerHasIt) {
  Write("workers = 2\n");
  DaemonProcess daemon(-1, {"--config", config_path_});
  EXPECT_EQ(RunCli(daemon.socket_path(), {"call", "word_count", "a b"}).exit_code, 1);

  // A plugin that cannot be loaded is a problem like any other.
  Write("workers = 2\nplugin = " + directory_.File("missing.so") + "\n");
  ReloadAndWait(daemon, "still running the previous one", 1);
  EXPECT_THAT(daemon.log(), HasSubstr("missing.so"));

  Write("workers = 2\nplugin = " WORD_COUNT_PLUGIN_PATH "\nlimit = word_count=1\n");
  ReloadAndWait(daemon, "rolling restart complete", 1);
  EXPECT_THAT(daemon.log(), HasSubstr("reload: loaded 1 more plugin"));
  const CommandResult counted = RunCli(daemon.socket_path(), {"call", "word_count", "a b c"});
  EXPECT_EQ(counted.exit_code, 0) << counted.err << daemon.log();
  EXPECT_THAT(counted.out, HasSubstr("3"));

  // Taking a plugin away takes a restart: logged, and the function stays.
  Write("workers = 2\n");
  ReloadAndWait(daemon, "rolling restart complete", 2);
  EXPECT_THAT(daemon.log(), HasSubstr("reload: plugin changed"));
  EXPECT_EQ(RunCli(daemon.socket_path(), {"call", "word_count", "a"}).exit_code, 0);
}

TEST(MaxTasksPerWorkerTest, RecyclingIsAReplacementNotADeath) {
  DaemonProcess daemon(1, {"--max-tasks-per-worker", "2"});
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(RunCli(daemon.socket_path(), {"call", "echo", "x"}).exit_code, 0);
  }
  nlohmann::json status;
  ASSERT_TRUE(WaitFor([&] {
    status = StatusJson(daemon);
    return Replaced(status, "max_tasks") == 2 && IdleWorkers(status) == 1;
  })) << status.dump() << "\n" << daemon.log();
  EXPECT_EQ(Uint64(status.value("workers_died", nlohmann::json("0"))), 0u) << status.dump();
  EXPECT_EQ(Replaced(status, "reload"), 0u);
  EXPECT_EQ(status["workers"][0].value("number", 0u), 0u);
}

TEST(TestConfigDumpTest, PrintsTheEffectiveConfigurationInFileSyntax) {
  TempDirectory directory("taskpool-dump");
  const std::string path = directory.File("taskpoold.conf");
  std::ofstream(path) << "workers = 3\nlimit = sleep=2\nslowlog-ms = 40\n";
  const CommandResult dumped =
      RunCommand({DaemonBinary(), "--config", path, "--socket", directory.File("t.sock"),
                  "--task-timeout-ms", "900", "--test-config", "--dump"});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  for (const char* line : {"workers = 3\n", "limit = sleep=2\n", "slowlog-ms = 40\n",
                           "task-timeout-ms = 900\n", "queue-capacity = 256\n"}) {
    EXPECT_THAT(dumped.out, HasSubstr(line));
  }
  // Read back, the dump is the same configuration.
  const std::string again_path = directory.File("again.conf");
  std::ofstream(again_path) << dumped.out.substr(0, dumped.out.find("taskpoold: configuration OK"));
  const CommandResult again =
      RunCommand({DaemonBinary(), "--config", again_path, "--test-config", "--dump"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.substr(0, again.out.find("taskpoold: configuration OK")),
            dumped.out.substr(0, dumped.out.find("taskpoold: configuration OK")));
}

}  // namespace
}  // namespace taskpool::testing
