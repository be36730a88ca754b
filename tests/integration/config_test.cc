// taskpoold's config file: --test-config reports every problem with file,
// line and option; a bad file stops a normal start too; flags win.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteConfig(const std::string& text) {
    const std::string path = directory_.File("taskpoold.conf");
    std::ofstream(path) << text;
    return path;
  }
  CommandResult RunDaemon(std::vector<std::string> args) {
    args.insert(args.begin(), {DaemonBinary(), "--socket", directory_.File("t.sock")});
    return RunCommand(args);
  }

  TempDirectory directory_{"taskpool-config"};
};

constexpr char kBadConfig[] =
    "# a comment\n"
    "workers = 2\n"
    "wokers = 3\n"
    "queue-capacity = lots\n"
    "socket-mode = 999\n"
    "; another comment\n"
    "log-level = debug\n"
    "max-connections = 0\n";

TEST_F(ConfigTest, TestConfigReportsEveryProblemWithFileLineAndOption) {
  const std::string path = WriteConfig(kBadConfig);
  const CommandResult result = RunDaemon({"--config", path, "--test-config"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(path + ":3: option 'wokers': unknown option"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(path + ":4: option 'queue-capacity': "), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("lots"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(path + ":5: option 'socket-mode': "), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(path + ":8: option 'max-connections': "), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("4 problems in " + path), std::string::npos) << result.err;
  // The good lines are not reported.
  EXPECT_EQ(result.err.find(path + ":2:"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find(path + ":7:"), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("configuration OK"), std::string::npos);
}

TEST_F(ConfigTest, TestConfigReportsSectionsMalformedLinesAndDuplicates) {
  const std::string path =
      WriteConfig("[pool]\nworkers\nworkers = 2\nworkers = 3\nhelp = 1\n");
  const CommandResult result = RunDaemon({"--config", path, "--test-config"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(path + ":1: sections are not supported"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(path + ":2: expected `name = value`"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(path + ":4: option 'workers': set more than once"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find(path + ":5: option 'help': unknown option"), std::string::npos)
      << result.err;
}

TEST_F(ConfigTest, TestConfigAcceptsAValidFile) {
  const std::string path = WriteConfig(
      "workers = 2\nqueue-capacity = 64\nsocket-mode = 0600\nlog-level = warning\n"
      "enable-test-tasks = true\n");
  const CommandResult result = RunDaemon({"--config", path, "--test-config"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("configuration OK (" + path + ")"), std::string::npos)
      << result.out;
  // It only checks: nothing was started, no socket made.
  EXPECT_FALSE(std::filesystem::exists(directory_.File("t.sock")));
}

TEST_F(ConfigTest, TestConfigChecksTheFlagsToo) {
  const CommandResult result = RunDaemon({"--test-config", "--socket-mode", "9"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--socket-mode"), std::string::npos) << result.err;
}

TEST_F(ConfigTest, NormalStartRefusesABadConfigFile) {
  const std::string path = WriteConfig(kBadConfig);
  const CommandResult result = RunDaemon({"--config", path});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(path + ":3: option 'wokers'"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(path + ":4: option 'queue-capacity'"), std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(directory_.File("t.sock")));
}

TEST_F(ConfigTest, FlagsWinOverTheFile) {
  const std::string path = WriteConfig("workers = 4\n");
  // The fixture passes --workers 1.
  DaemonProcess daemon(1, {"--config", path});
  EXPECT_EQ(ChildrenOf(daemon.pid()).size(), 1u) << daemon.log();
}

TEST_F(ConfigTest, TheFileSetsWhatTheFlagsDoNot) {
  const std::string path = WriteConfig("queue-capacity = 7\n");
  DaemonProcess daemon(1, {"--config", path});
  ClientOptions options;
  options.socket_path = daemon.socket_path();
  auto client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->server_info().queue_capacity, 7u);
  // A flag's bad value is reported even when the file's is fine.
  const CommandResult checked = RunCommand(
      {DaemonBinary(), "--config", path, "--test-config", "--max-in-flight", "0"});
  EXPECT_EQ(checked.exit_code, 2) << checked.err;
  EXPECT_NE(checked.err.find("--max-in-flight"), std::string::npos) << checked.err;
}

}  // namespace
}  // namespace taskpool::testing
