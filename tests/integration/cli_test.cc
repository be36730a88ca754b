// The taskpool CLI against the real daemon.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

const std::vector<std::string> kTutorialNumbers = {
    "222377", "3334", "2212", "3345", "23441", "454577", "341737", "565633"};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<DaemonProcess>(2); }
  CommandResult Cli(const std::vector<std::string>& args, const std::string& in = "") {
    return RunCli(daemon_->socket_path(), args, in);
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(CliTest, MapPrintsTheTutorialVerdictsInOrder) {
  std::vector<std::string> args = {"map", "is_prime"};
  args.insert(args.end(), kTutorialNumbers.begin(), kTutorialNumbers.end());
  CommandResult result = Cli(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), kTutorialNumbers.size()) << result.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string verdict = kTutorialNumbers[i] == "454577" ? "true" : "false";
    EXPECT_TRUE(lines[i].starts_with(kTutorialNumbers[i] + ": " + verdict + " (worker "))
        << lines[i];
  }
}

TEST_F(CliTest, JsonMapIsOrderedAndCorrect) {
  std::vector<std::string> args = {"--json", "map", "is_prime"};
  args.insert(args.end(), kTutorialNumbers.begin(), kTutorialNumbers.end());
  CommandResult result = Cli(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), kTutorialNumbers.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto object = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(object.at("input"), kTutorialNumbers[i]);
    EXPECT_EQ(object.at("ok"), true);
    EXPECT_EQ(object.at("output"), kTutorialNumbers[i] == "454577" ? "true" : "false");
    EXPECT_GT(object.at("worker_pid").get<int>(), 0);
    EXPECT_TRUE(object.contains("error"));
    EXPECT_GE(object.at("queue_ms").get<double>(), 0.0);
    EXPECT_GE(object.at("run_ms").get<double>(), 0.0);
  }
}

TEST_F(CliTest, MapReadsArgumentsFromStdin) {
  CommandResult result = Cli({"map", "echo", "-"}, "a\nb\nc\n");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("a: a (worker "));
  EXPECT_TRUE(lines[2].starts_with("c: c (worker "));
}

TEST_F(CliTest, UnorderedMapPrintsEveryInput) {
  CommandResult result = Cli({"map", "--unordered", "sleep", "200", "1", "50"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines.back().starts_with("200: ")) << result.out;
}

TEST_F(CliTest, MapWithAFailedItemExitsOne) {
  CommandResult result = Cli({"map", "is_prime", "7", "x", "9"});
  EXPECT_EQ(result.exit_code, 1);
  const auto lines = Lines(result.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find("INVALID_ARGUMENT"), std::string::npos) << lines[1];
}

TEST_F(CliTest, StatusJsonListsTwoLiveWorkersThatAreChildren) {
  CommandResult result = Cli({"--json", "status"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto status = nlohmann::json::parse(result.out);
  ASSERT_EQ(status.at("workers").size(), 2u);
  const std::vector<pid_t> children = ChildrenOf(daemon_->pid());
  for (const auto& worker : status.at("workers")) {
    const pid_t pid = worker.at("pid").get<pid_t>();
    EXPECT_NE(std::find(children.begin(), children.end(), pid), children.end());
    EXPECT_TRUE(worker.contains("state"));
    EXPECT_TRUE(worker.contains("tasks_done"));
  }
}

TEST_F(CliTest, StatusTableShowsEveryWorker) {
  CommandResult result = Cli({"status"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (pid_t pid : ChildrenOf(daemon_->pid())) {
    EXPECT_NE(result.out.find(std::to_string(pid)), std::string::npos) << result.out;
  }
}

TEST_F(CliTest, CallPrintsOutputOrFailsWithExitOne) {
  CommandResult ok = Cli({"call", "sha256", "abc"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");

  CommandResult failed = Cli({"call", "fail", "boom"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("boom"), std::string::npos) << failed.err;

  CommandResult unknown = Cli({"call", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("known functions"), std::string::npos) << unknown.err;
}

TEST_F(CliTest, PingAnswers) { EXPECT_EQ(Cli({"ping"}).exit_code, 0); }

TEST_F(CliTest, SocketFromEnvironment) {
  setenv("TASKPOOL_SOCKET", daemon_->socket_path().c_str(), 1);
  CommandResult result = RunCli("", {"call", "echo", "env"});
  unsetenv("TASKPOOL_SOCKET");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "env\n");
}

TEST(CliUsage, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frobnicate"}, {"call"}, {"map", "echo"},
                                             {"map", "--chunksize", "zero", "echo", "1"},
                                             {}}) {
    CommandResult result = RunCli("/tmp/unused.sock", args);
    EXPECT_EQ(result.exit_code, 2) << "args: " << ::testing::PrintToString(args) << "\n"
                                   << result.err;
    EXPECT_FALSE(result.err.empty());
  }
}

TEST(CliUsage, HelpExitsZero) {
  EXPECT_EQ(RunCli("", {"--help"}).exit_code, 0);
  EXPECT_EQ(RunCli("", {"map", "--help"}).exit_code, 0);
}

TEST(CliUsage, DaemonNotRunningExitsOneWithAClearMessage) {
  CommandResult result = RunCli("/tmp/taskpool-nobody-here.sock", {"ping"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("/tmp/taskpool-nobody-here.sock"), std::string::npos) << result.err;
}

TEST(DaemonUsage, BadFlagsExitTwo) {
  CommandResult result = RunCommand({DaemonBinary(), "--workers", "lots"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("workers"), std::string::npos) << result.err;
  EXPECT_EQ(RunCommand({DaemonBinary(), "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(RunCommand({DaemonBinary(), "--help"}).exit_code, 0);
}

}  // namespace
}  // namespace taskpool::testing
