// Plugins loaded with --plugin: the example plugin's functions run in the
// workers, its on_worker_start hook ran once in each, and every kind of
// unusable plugin stops taskpoold at start with exit status 2.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

// Runs taskpoold with `args` on a private socket and expects it to refuse
// to start: exit 2 with stderr containing every string in `expected`.
void ExpectRefusedAtStart(const std::vector<std::string>& args,
                          const std::vector<std::string>& expected) {
  const TempDirectory directory("taskpool-plugin");
  std::vector<std::string> argv = {DaemonBinary(), "--socket", directory.File("tp.sock"),
                                   "--workers", "1"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult result = RunCommand(argv);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  for (const std::string& text : expected) {
    EXPECT_NE(result.err.find(text), std::string::npos)
        << "stderr lacks '" << text << "':\n"
        << result.err;
  }
}

TEST(Plugin, ExampleFunctionRunsThroughTheClient) {
  DaemonProcess daemon(2, {"--plugin", WORD_COUNT_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult result =
      client->call("word_count", "the quick  brown fox\n");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.output.rfind("4 words (worker ", 0), 0u) << result.output;
  EXPECT_NE(
      result.output.find("worker " + std::to_string(result.worker_pid) + " "),
      std::string::npos)
      << result.output;
}

TEST(Plugin, StartHookRanExactlyOnceInEachWorker) {
  DaemonProcess daemon(2, {"--plugin", WORD_COUNT_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  // Which worker takes which task is up to the queue; keep mapping until
  // both have answered (bounded).
  const std::regex pattern(
      R"(^(\d+) words \(worker (\d+) started at (\d+) us, hook runs: (\d+)\)$)");
  std::map<int, std::set<std::string>> start_times_by_pid;
  const std::vector<std::string> inputs(64, "one two three");
  for (int round = 0; round < 50 && start_times_by_pid.size() < 2; ++round) {
    for (const TaskResult& result : client->map("word_count", inputs)) {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      std::smatch match;
      ASSERT_TRUE(std::regex_match(result.output, match, pattern))
          << result.output;
      EXPECT_EQ(match[1], "3");
      EXPECT_EQ(match[4], "1")
          << "the hook ran more than once in worker " << match[2];
      EXPECT_EQ(std::stoi(match[2]), result.worker_pid);
      start_times_by_pid[result.worker_pid].insert(match[3]);
    }
  }
  ASSERT_EQ(start_times_by_pid.size(), 2u) << "one worker ran every task";
  for (const auto& [pid, start_times] : start_times_by_pid) {
    EXPECT_EQ(start_times.size(), 1u)
        << "worker " << pid << " was set up twice";
  }
}

TEST(Plugin, ExceptionBecomesTaskFailed) {
  DaemonProcess daemon(1, {"--plugin", WORD_COUNT_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult result = client->call("explode", "boom");
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(result.error, "exploded on 'boom'");
  // The worker survived it.
  EXPECT_TRUE(client->call("word_count", "still here").ok());
}

TEST(Plugin, DaemonOnlyErrorCodeBecomesTaskFailed) {
  DaemonProcess daemon(1, {"--plugin", ODD_CODE_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult result = client->call("claims_timeout", "");
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(result.error,
            "plugin function reported error code 6: pretending to time out");
}

TEST(Plugin, TwoPluginsKeepTheirOwnFunctions) {
  // Each plugin's table is its own, however the dynamic linker shares
  // symbols between libraries built from the same header.
  DaemonProcess daemon(1, {"--plugin", WORD_COUNT_PLUGIN_PATH, "--plugin",
                           ODD_CODE_PLUGIN_PATH});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->call("word_count", "a b").ok());
  EXPECT_EQ(client->call("claims_timeout", "").code, ErrorCode::kTaskFailed);
}

TEST(Plugin, LoadedFromConfigFile) {
  const TempDirectory directory("taskpool-plugin-conf");
  const std::string config = directory.File("taskpoold.conf");
  std::ofstream(config) << "plugin = " << WORD_COUNT_PLUGIN_PATH << "\n";
  {
    DaemonProcess daemon(1, {"--config", config});
    auto client = ConnectTo(daemon.socket_path());
    ASSERT_NE(client, nullptr);
    EXPECT_TRUE(client->call("word_count", "a b").ok());
  }
}

TEST(Plugin, BadPathExitsTwoNamingThePath) {
  ExpectRefusedAtStart(
      {"--plugin", "/nonexistent/libnope.so"},
      {"/nonexistent/libnope.so", "cannot load", "No such file or directory"});
}

TEST(Plugin, LibraryWithoutEntryPointExitsTwo) {
  ExpectRefusedAtStart(
      {"--plugin", NO_ENTRY_PLUGIN_PATH},
      {NO_ENTRY_PLUGIN_PATH, "not a taskpool plugin", "taskpool_plugin_entry"});
}

TEST(Plugin, AbiMismatchExitsTwoNamingBothVersions) {
  ExpectRefusedAtStart(
      {"--plugin", ABI_MISMATCH_PLUGIN_PATH},
      {ABI_MISMATCH_PLUGIN_PATH, "ABI version 999", "ABI version 2"});
}

TEST(Plugin, DuplicateFunctionNameExitsTwo) {
  ExpectRefusedAtStart(
      {"--plugin", DUPLICATE_NAME_PLUGIN_PATH},
      {DUPLICATE_NAME_PLUGIN_PATH, "'echo' is already registered"});
  ExpectRefusedAtStart(
      {"--plugin", WORD_COUNT_PLUGIN_PATH, "--plugin", WORD_COUNT_PLUGIN_PATH},
      {"'word_count' is already registered"});
}

TEST(Plugin, ThrowingStartHookStopsTheWorkerNotTheDaemon) {
  DaemonProcess daemon(2, {"--plugin", FAILING_HOOK_PLUGIN_PATH});
  // Both workers fail their hook and are not respawned in a loop.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (daemon.log().find("cannot start (fatal exit status)") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string log = daemon.log();
  EXPECT_NE(log.find("on_worker_start hook of plugin " FAILING_HOOK_PLUGIN_PATH
                     " failed: cannot reach the license server"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("not respawning"), std::string::npos) << log;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(ProcessIsAlive(daemon.pid())) << daemon.log();
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->status().ok());
}

}  // namespace
}  // namespace taskpool::testing
