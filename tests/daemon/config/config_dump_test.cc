// The dump reads back as the same configuration; the diff says which
// options changed and whether a running daemon can take them.
#include "daemon/config/config_dump.h"

#include <gtest/gtest.h>

#include <sstream>
#include <variant>

#include "daemon/config/daemon_config.h"

namespace taskpool::daemon {
namespace {

DaemonConfig Parse(std::vector<std::string> flags) {
  flags.insert(flags.begin(), {"taskpoold", "--config", "/dev/null"});
  std::vector<const char*> argv;
  for (const std::string& flag : flags) argv.push_back(flag.c_str());
  std::ostringstream errors;
  ParsedCommandLine parsed = ParseDaemonCommandLine(static_cast<int>(argv.size()),
                                                    argv.data(), errors);
  EXPECT_TRUE(std::holds_alternative<DaemonConfig>(parsed)) << errors.str();
  return std::get<DaemonConfig>(parsed);
}

TEST(ConfigDumpTest, NamesEveryOptionOnceAndRepeatablesPerValue) {
  const DaemonConfig config =
      Parse({"--socket", "/tmp/x.sock", "--workers", "3", "--limit", "sleep=2", "--limit",
             "echo=5", "--allow-users", "0", "--metrics-listen", "127.0.0.1:9464"});
  const std::string dump = DumpConfig(config);
  EXPECT_NE(dump.find("socket = /tmp/x.sock\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("workers = 3\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("limit = sleep=2\nlimit = echo=5\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("socket-mode = 0660\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("allow-users = 0\n"), std::string::npos) << dump;
  // --metrics-listen is the older name of --http-listen.
  EXPECT_NE(dump.find("http-listen = 127.0.0.1:9464\n"), std::string::npos) << dump;
  EXPECT_NE(dump.find("enable-exec = false\n"), std::string::npos) << dump;
}

TEST(ConfigDumpTest, DiffSaysWhatChangedAndWhatTakesARestart) {
  const DaemonConfig running = Parse({"--socket", "/tmp/a.sock", "--workers", "1"});
  const DaemonConfig next = Parse(
      {"--socket", "/tmp/b.sock", "--workers", "4", "--slowlog-ms", "30", "--queue-capacity", "9"});
  const std::vector<OptionChange> changes = DiffConfigs(running, next);
  ASSERT_EQ(changes.size(), 5u);  // crash-rate-threshold follows workers (10 x)
  EXPECT_EQ(changes[0].name, "socket");
  EXPECT_FALSE(changes[0].live);
  EXPECT_EQ(changes[1].name, "workers");
  EXPECT_EQ(changes[1].before, "1");
  EXPECT_EQ(changes[1].after, "4");
  EXPECT_TRUE(changes[1].live);
  EXPECT_EQ(changes[2].name, "queue-capacity");
  EXPECT_FALSE(changes[2].live);
  EXPECT_EQ(changes[3].name, "crash-rate-threshold");
  EXPECT_EQ(changes[4].name, "slowlog-ms");
  EXPECT_TRUE(changes[4].live);
}

TEST(ConfigDumpTest, ApplyingTheLiveOptionsLeavesOnlyRestartOnesDifferent) {
  DaemonConfig running = Parse({"--workers", "1"});
  const DaemonConfig next =
      Parse({"--workers", "2", "--max-connections", "7", "--max-in-flight", "8",
             "--shutdown-timeout-ms", "9", "--task-timeout-ms", "10",
             "--max-tasks-per-worker", "11", "--max-worker-rss-mib", "12",
             "--idle-timeout-ms", "13", "--crash-rate-threshold", "14", "--limit", "echo=15",
             "--max-in-flight-per-user", "16", "--slowlog-ms", "17", "--allow-users", "0",
             "--allow-groups", "0", "--log-level", "error", "--queue-capacity", "18",
             "--enable-exec"});
  ApplyLiveOptions(next, running);
  // If an option is declared live, ApplyLiveOptions must copy it.
  for (const OptionChange& change : DiffConfigs(running, next)) {
    EXPECT_FALSE(change.live) << change.name << " is live but was not applied";
  }
  // queue-capacity, enable-exec, and max-connections-per-user, which
  // follows max-connections (a quarter of it) and takes a restart.
  EXPECT_EQ(DiffConfigs(running, next).size(), 3u);
}

}  // namespace
}  // namespace taskpool::daemon
