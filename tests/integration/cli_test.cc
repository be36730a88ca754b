// The taskpool CLI against the real daemon.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include "tests/base64.h"
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
    const auto record = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(record.at("function"), "is_prime");
    EXPECT_EQ(record.at("index"), std::to_string(i));
    EXPECT_EQ(Base64Decode(record.at("input").get<std::string>()), kTutorialNumbers[i]);
    EXPECT_EQ(record.at("ok"), true);
    const auto& task = record.at("result");
    EXPECT_EQ(Base64Decode(task.at("output").get<std::string>()),
              kTutorialNumbers[i] == "454577" ? "true" : "false");
    EXPECT_EQ(task.at("code"), "OK");
    EXPECT_GT(task.at("worker_pid").get<int>(), 0);
    EXPECT_TRUE(task.contains("error"));
    EXPECT_GE(std::stoll(task.at("queue_us").get<std::string>()), 0);
    EXPECT_GE(std::stoll(task.at("run_us").get<std::string>()), 0);
    EXPECT_GT(std::stoll(task.at("started_unix_us").get<std::string>()), 0);
  }
}

TEST_F(CliTest, BinaryPayloadsRoundTrip) {
  // The whole of /bin/ls through stdin, hashed in a worker.
  const std::string ls = ReadFile("/bin/ls");
  ASSERT_GT(ls.size(), 1000u);
  const CommandResult hashed = Cli({"call", "sha256", "-"}, ls);
  ASSERT_EQ(hashed.exit_code, 0) << hashed.err;
  const CommandResult reference = RunCommand({"/usr/bin/sha256sum", "/bin/ls"});
  ASSERT_EQ(reference.exit_code, 0) << reference.err;
  EXPECT_EQ(hashed.out, reference.out.substr(0, 64));

  // The example: exactly the two NUL-separated inputs come back.
  const CommandResult records = Cli({"map", "-0", "--json", "echo"}, std::string("a b\0c\nd\0", 8));
  ASSERT_EQ(records.exit_code, 0) << records.err;
  const std::vector<std::string> lines = Lines(records.out);
  ASSERT_EQ(lines.size(), 2u) << records.out;
  const auto output_of = [&](size_t line) {
    const nlohmann::json record = nlohmann::json::parse(lines[line]);
    return Base64Decode(record.at("result").at("output").get<std::string>());
  };
  EXPECT_EQ(output_of(0), "a b");
  EXPECT_EQ(output_of(1), "c\nd");

  // Bytes that are not UTF-8 survive --json, as base64.
  const CommandResult binary = Cli({"--json", "call", "echo", "-"}, "\xff\xfe");
  ASSERT_EQ(binary.exit_code, 0) << binary.err;
  const auto record = nlohmann::json::parse(binary.out);
  EXPECT_EQ(record.at("result").at("output"), "//4=");
  EXPECT_EQ(Base64Decode(record.at("result").at("output").get<std::string>()), "\xff\xfe");
  // And without --json, byte for byte.
  EXPECT_EQ(Cli({"call", "echo", "-"}, "\xff\xfe").out, "\xff\xfe");
}

TEST_F(CliTest, StatusJsonHasEveryFieldOfTheStatus) {
  CommandResult result = Cli({"status", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto status = nlohmann::json::parse(result.out);
  for (const char* field : {"users", "slowlog_ms", "max_in_flight_per_user", "workers",
                            "functions", "registered_functions", "queue_depth",
                            "tasks_submitted", "server_version", "daemon_pid"}) {
    EXPECT_TRUE(status.contains(field)) << field << " missing from " << result.out;
  }
  EXPECT_EQ(status.at("slowlog_ms"), 0);
}

TEST_F(CliTest, FunctionsListsTheBuiltInsAndSaysExecIsOff) {
  CommandResult result = Cli({"functions"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("is_prime  built-in\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("exec      disabled: exec is disabled on this daemon; start "
                            "taskpoold with --enable-exec"),
            std::string::npos)
      << result.out;

  result = Cli({"--json", "functions"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::set<std::string> names;
  const auto list = nlohmann::json::parse(result.out);
  for (const auto& function : list.at("functions")) {
    names.insert(function.at("name").get<std::string>());
    EXPECT_EQ(function.at("plugin"), "");
  }
  for (const char* builtin : {"echo", "exec", "fail", "is_prime", "sha256", "sleep"}) {
    EXPECT_EQ(names.count(builtin), 1u) << builtin;
  }
}

TEST(CliFunctionsTest, NamesThePluginOfEachPluginFunction) {
  DaemonProcess daemon(1, {"--plugin", WORD_COUNT_PLUGIN_PATH});
  const CommandResult result = RunCli(daemon.socket_path(), {"--json", "functions"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  bool found = false;
  const auto list = nlohmann::json::parse(result.out);
  for (const auto& function : list.at("functions")) {
    if (function.at("name") != "word_count") continue;
    found = true;
    EXPECT_EQ(function.at("plugin"), WORD_COUNT_PLUGIN_PATH);
  }
  EXPECT_TRUE(found) << result.out;
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
  EXPECT_EQ(ok.out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

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
  EXPECT_EQ(result.out, "env");
}

TEST(CliUsage, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frobnicate"}, {"call"}, {"map", "--halt", "bogus", "echo", "1"},
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

TEST(CliUsage, DaemonNotRunningExitsThreeWithAClearMessage) {
  CommandResult result = RunCli("/tmp/taskpool-nobody-here.sock", {"ping"});
  EXPECT_EQ(result.exit_code, 3);
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
