// The taskpool CLI, run as a program against the fake daemon: output
// formats, exit codes, usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::FakeDaemon;
using ::testing::HasSubstr;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Runs `taskpool ARGS` through the shell with `input` on stdin.
CliRun RunCli(const std::string& args, const std::string& input = "") {
  const std::string base = testing::UniqueSocketPath();
  std::ofstream(base + ".in") << input;
  const std::string command = std::string(TASKPOOL_CLI_PATH) + " " + args +
                              " <" + base + ".in >" + base + ".out 2>" + base +
                              ".err";
  const int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = ReadFile(base + ".out");
  run.err = ReadFile(base + ".err");
  for (const char* suffix : {".in", ".out", ".err"}) {
    std::remove((base + suffix).c_str());
  }
  return run;
}

class CliTest : public ::testing::Test {
 protected:
  CliRun Taskpool(const std::string& args, const std::string& input = "") {
    return RunCli("--socket " + daemon_.path() + " " + args, input);
  }

  FakeDaemon daemon_;
};

TEST_F(CliTest, MapPrintsOneLinePerInputInOrder) {
  const CliRun run = Taskpool("map --chunksize 2 echo 222377 3334 2212");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "222377: 222377 (worker 4242)\n"
            "3334: 3334 (worker 4242)\n"
            "2212: 2212 (worker 4242)\n");
}

TEST_F(CliTest, MapReadsStdin) {
  const CliRun run = Taskpool("map echo -", "a\nb\r\nc\n");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out,
            "a: a (worker 4242)\nb: b (worker 4242)\nc: c (worker 4242)\n");
}

TEST_F(CliTest, MapFailureKeepsItsLineAndExitsOne) {
  const CliRun run = Taskpool("map fail oops");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "oops: error TASK_FAILED: oops (worker 4242)\n");
}

TEST_F(CliTest, MapJsonHasOneObjectPerLine) {
  const CliRun run = Taskpool("--json map --unordered echo x y");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  std::set<std::string> inputs;
  while (std::getline(lines, line)) {
    const nlohmann::json object = nlohmann::json::parse(line);
    EXPECT_EQ(object["output"], object["input"]);
    EXPECT_EQ(object["ok"], true);
    EXPECT_EQ(object["code"], "OK");
    EXPECT_EQ(object["error"], "");
    EXPECT_EQ(object["worker_pid"], 4242);
    EXPECT_DOUBLE_EQ(object["queue_ms"].get<double>(), 1.5);
    EXPECT_DOUBLE_EQ(object["run_ms"].get<double>(), 2.5);
    inputs.insert(object["input"].get<std::string>());
  }
  EXPECT_EQ(inputs, (std::set<std::string>{"x", "y"}));
}

TEST_F(CliTest, MapReportsLostConnection) {
  const CliRun run = Taskpool("map crash 1 2");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("closed the connection"));
}

TEST_F(CliTest, CallPrintsOutput) {
  const CliRun run = Taskpool("call echo hello");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hello\n");
}

TEST_F(CliTest, CallFailureGoesToStderr) {
  const CliRun run = Taskpool("call fail boom");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "taskpool: fail failed: TASK_FAILED: boom\n");
}

TEST_F(CliTest, StatusJsonListsWorkers) {
  const CliRun run = Taskpool("status --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json status = nlohmann::json::parse(run.out);
  ASSERT_EQ(status["workers"].size(), 2u);
  EXPECT_EQ(status["workers"][1]["pid"], 5001);
  EXPECT_EQ(status["workers"][1]["state"], "idle");
  EXPECT_EQ(status["workers"][1]["tasks_done"], "0");  // 64-bit: a string
  EXPECT_EQ(status["daemon_pid"], 4999);
  EXPECT_EQ(status["queue_capacity"], 64);
}

TEST_F(CliTest, StatusTable) {
  const CliRun run = Taskpool("status");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("INDEX"));
  EXPECT_THAT(run.out, HasSubstr("5001"));
}

TEST_F(CliTest, PingAnswers) {
  const CliRun run = Taskpool("ping");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("taskpoold at " + daemon_.path() + " answered in"));
}

TEST(CliWithoutDaemonTest, SaysDaemonIsNotRunning) {
  const std::string path = testing::UniqueSocketPath();
  const CliRun run = RunCli("--socket " + path + " ping");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("no taskpoold is listening on " + path));
}

TEST(CliUsageTest, MistakesExitTwoWithAHint) {
  for (const char* args : {"", "frobnicate", "call", "map is_prime",
                           "map --chunksize x f 1", "--no-such-option ping"}) {
    const CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_THAT(run.err, HasSubstr("try 'taskpool --help'")) << args;
  }
}

TEST(CliUsageTest, HelpExitsZero) {
  for (const char* args : {"--help", "map --help", "call -h", "--version"}) {
    const CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 0) << args;
    EXPECT_THAT(run.out, HasSubstr("taskpool")) << args;
  }
}

}  // namespace
}  // namespace taskpool
