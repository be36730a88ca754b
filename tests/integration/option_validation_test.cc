// Every option is checked before anything is created: numbers out of range
// (negative ones included), absurd queue geometry, a socket path too long
// for sockaddr_un; and --test-config refuses exactly what a start refuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

class OptionValidationTest : public ::testing::Test {
 protected:
  std::string socket() const { return directory_.File("t.sock"); }
  CommandResult RunDaemon(std::vector<std::string> args, const std::string& socket_path = "") {
    args.insert(args.begin(),
                {DaemonBinary(), "--socket", socket_path.empty() ? socket() : socket_path});
    return RunCommand(args);
  }
  std::string WriteConfig(const std::string& text) {
    const std::string path = directory_.File("taskpoold.conf");
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  bool DirectoryHoldsOnly(const std::vector<std::string>& names) const {
    size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory_.path())) {
      if (std::find(names.begin(), names.end(), entry.path().filename()) == names.end()) {
        return false;
      }
      ++count;
    }
    return count == names.size();
  }

  TempDirectory directory_{"taskpool-options"};
};

TEST_F(OptionValidationTest, NegativeNumbersAreUsageErrorsNamingTheRange) {
  for (const char* option : {"--max-connections", "--max-in-flight", "--task-timeout-ms",
                             "--slowlog-ms", "--crash-rate-threshold", "--max-tasks-per-worker",
                             "--idle-timeout-ms", "--workers", "--queue-capacity",
                             "--max-connection-memory-mib"}) {
    const CommandResult result = RunDaemon({"--test-config", option, "-1"});
    EXPECT_EQ(result.exit_code, 2) << option << ": " << result.out << result.err;
    EXPECT_NE(result.err.find(std::string(option) + " must be between"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("not -1"), std::string::npos) << result.err;
  }
}

TEST_F(OptionValidationTest, AWorkerMemoryLimitIsNoneOrAtLeastSixteenMib) {
  for (const char* value : {"-1", "1", "15", "1048577"}) {
    const CommandResult result = RunDaemon({"--test-config", "--worker-memory-limit-mib", value});
    EXPECT_EQ(result.exit_code, 2) << value << ": " << result.out << result.err;
    EXPECT_NE(result.err.find("--worker-memory-limit-mib must be"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find(std::string("not ") + value), std::string::npos) << result.err;
  }
  for (const char* value : {"0", "16", "1048576"}) {
    const CommandResult result = RunDaemon({"--test-config", "--worker-memory-limit-mib", value});
    EXPECT_EQ(result.exit_code, 0) << value << ": " << result.out << result.err;
  }
  const CommandResult from_file =
      RunDaemon({"--test-config", "--config", WriteConfig("worker-memory-limit-mib = 3\n")});
  EXPECT_EQ(from_file.exit_code, 2) << from_file.err;
  EXPECT_NE(from_file.err.find("--worker-memory-limit-mib must be"), std::string::npos)
      << from_file.err;
}

TEST_F(OptionValidationTest, ValuesAboveTheRangeAreUsageErrors) {
  const CommandResult result = RunDaemon({"--test-config", "--max-in-flight", "4294967296"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("--max-in-flight must be between 1 and 1000000"), std::string::npos)
      << result.err;
}

TEST_F(OptionValidationTest, AConnectionBudgetBelowTwoFramesIsAUsageErrorNamingBoth) {
  const CommandResult low = RunDaemon(
      {"--test-config", "--max-connection-memory-mib", "20", "--max-payload-bytes", "16777216"});
  EXPECT_EQ(low.exit_code, 2) << low.err;
  EXPECT_NE(low.err.find("--max-connection-memory-mib 20"), std::string::npos) << low.err;
  EXPECT_NE(low.err.find("at least 34"), std::string::npos) << low.err;
  EXPECT_NE(low.err.find("--max-payload-bytes"), std::string::npos) << low.err;
  const CommandResult zero = RunDaemon({"--test-config", "--max-connection-memory-mib", "0"});
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  EXPECT_NE(zero.err.find("--max-connection-memory-mib must be between 1 and"), std::string::npos)
      << zero.err;
  const CommandResult fits = RunDaemon(
      {"--test-config", "--max-connection-memory-mib", "6", "--max-payload-bytes", "2097152"});
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
}

TEST_F(OptionValidationTest, AbsurdQueueGeometryIsAUsageError) {
  const CommandResult result = RunDaemon(
      {"--test-config", "--queue-capacity", "1000000", "--inline-payload-bytes", "16777216"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("MiB of shared memory"), std::string::npos) << result.err;
}

TEST_F(OptionValidationTest, SocketPathTooLongIsAUsageErrorAndLeavesNothing) {
  const std::string long_socket = directory_.File(std::string(120, 's') + ".sock");
  const CommandResult result = RunDaemon({"--workers", "1"}, long_socket);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("a Unix socket path can have at most 107"), std::string::npos)
      << result.err;
  EXPECT_TRUE(DirectoryHoldsOnly({})) << "a refused start created files";
}

// Each of these makes a real start exit 2; --test-config must say so too.
TEST_F(OptionValidationTest, TestConfigRefusesWhatAStartRefuses) {
  const std::vector<std::vector<std::string>> refused = {
      {"--plugin", "/nonexistent/libnothing.so"},
      {"--plugin", "/etc/passwd"},
      {"--limit", "nosuch=3"},
      {"--config", WriteConfig("plugin =\n")},
  };
  for (const std::vector<std::string>& args : refused) {
    std::vector<std::string> test = args;
    test.push_back("--test-config");
    const CommandResult checked = RunDaemon(test);
    EXPECT_EQ(checked.exit_code, 2) << args[0] << " " << args[1] << ": " << checked.out
                                    << checked.err;
    EXPECT_EQ(checked.out.find("configuration OK"), std::string::npos) << checked.out;

    std::vector<std::string> start = args;
    start.insert(start.end(), {"--workers", "1"});
    const CommandResult started = RunDaemon(start);
    EXPECT_EQ(started.exit_code, 2) << args[0] << " " << args[1] << ": " << started.err;
  }
}

TEST_F(OptionValidationTest, AConfigFileWithAByteOrderMarkIsRead) {
  const std::string path = WriteConfig("\xEF\xBB\xBFworkers = 2\nslowlog-ms = 10\n");
  const CommandResult result = RunDaemon({"--config", path, "--test-config"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("configuration OK"), std::string::npos) << result.out;
}

TEST_F(OptionValidationTest, SemicolonCommentsWorkWhereHashCommentsDo) {
  const std::string path =
      WriteConfig("; a comment\nworkers = 2\n   ; an indented one\n# and a hash one\n");
  const CommandResult result = RunDaemon({"--config", path, "--test-config"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace
}  // namespace taskpool::testing
