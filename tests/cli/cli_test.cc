// The taskpool CLI, run as a program against the fake daemon: inputs and
// output formats (binary-safe both ways), exit codes, usage errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "tests/base64.h"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::Base64Decode;
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
  std::ofstream(base + ".in", std::ios::binary) << input;
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

TEST_F(CliTest, MapJsonHasOneTaskRecordPerLine) {
  const CliRun run = Taskpool("--json map --unordered echo x y");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line;
  std::set<std::string> inputs;
  while (std::getline(lines, line)) {
    const nlohmann::json record = nlohmann::json::parse(line);
    EXPECT_EQ(record["function"], "echo");
    EXPECT_EQ(record["ok"], true);
    const nlohmann::json& result = record["result"];
    EXPECT_EQ(result["output"], record["input"]);  // both base64
    EXPECT_EQ(result["code"], "OK");
    EXPECT_EQ(result["error"], "");
    EXPECT_EQ(result["worker_pid"], 4242);
    EXPECT_EQ(result["queue_us"], "1500");  // 64-bit integers are strings
    EXPECT_EQ(result["run_us"], "2500");
    EXPECT_TRUE(result.contains("attempts"));
    inputs.insert(Base64Decode(record["input"].get<std::string>()));
  }
  EXPECT_EQ(inputs, (std::set<std::string>{"x", "y"}));
}

TEST_F(CliTest, MapNoTagPrintsOutputsOnlyAndFailuresOnStderr) {
  CliRun run = Taskpool("map --no-tag echo a b");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "a\nb\n");
  run = Taskpool("map --no-tag fail oops");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "taskpool: oops: error TASK_FAILED: oops\n");
  // --tag is the default format.
  EXPECT_EQ(Taskpool("map --tag echo a").out, "a: a (worker 4242)\n");
}

TEST_F(CliTest, MapReadsNulSeparatedInputsByteForByte) {
  // The issue's example: two inputs, one with a space, one with a newline.
  const CliRun run = Taskpool("map -0 --json echo", std::string("a b\0c\nd\0", 8));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::istringstream lines(run.out);
  std::vector<std::string> inputs;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json record = nlohmann::json::parse(line);
    EXPECT_EQ(record["result"]["output"], record["input"]);
    inputs.push_back(Base64Decode(record["input"].get<std::string>()));
  }
  EXPECT_EQ(inputs, (std::vector<std::string>{"a b", "c\nd"}));
}

TEST_F(CliTest, MapReadsAnArgFile) {
  const std::string path = testing::UniqueSocketPath() + ".args";
  std::ofstream(path) << "one\ntwo\n";
  const CliRun run = Taskpool("map --no-tag --arg-file " + path + " echo");
  std::remove(path.c_str());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "one\ntwo\n");
  EXPECT_EQ(Taskpool("map --arg-file /nonexistent/args echo").exit_code, 1);
}

TEST_F(CliTest, MapHaltNowStopsAtTheFirstFailure) {
  // The first failure to arrive, whichever it is: map sends the three
  // together, and the fake daemon answers a batch last task first.
  const CliRun run = Taskpool("map --halt now,fail=1 fail first second third");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, ::testing::MatchesRegex(
                           "(first|second|third): error TASK_FAILED: [a-z]+ \\(worker 4242\\)\n"));
  EXPECT_THAT(run.err, HasSubstr("--halt: stopping after 1 results (1 failed)"));
}

TEST_F(CliTest, MapJoblogHasALinePerTask) {
  const std::string path = testing::UniqueSocketPath() + ".joblog";
  const CliRun run = Taskpool("map --joblog " + path + " echo a b");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::istringstream log(ReadFile(path));
  std::remove(path.c_str());
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << "a header and two tasks";
  EXPECT_EQ(lines[0], "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand");
  EXPECT_TRUE(lines[1].starts_with("1\t:\t")) << lines[1];
  EXPECT_TRUE(lines[1].ends_with("\t1\t1\t0\t0\techo a")) << lines[1];
  EXPECT_TRUE(lines[2].ends_with("\techo b")) << lines[2];
}

TEST_F(CliTest, MapWithoutProgressWritesNothingOnStderr) {
  // Not a terminal: auto shows no progress, and never means never.
  for (const char* mode : {"auto", "never"}) {
    const CliRun run = Taskpool(std::string("map --progress ") + mode + " echo a b");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "") << mode;
    EXPECT_EQ(run.out, "a: a (worker 4242)\nb: b (worker 4242)\n") << mode;
  }
  // always draws on stderr even into a file, and stdout stays the same.
  const CliRun always = Taskpool("map --progress always echo a b");
  EXPECT_EQ(always.out, "a: a (worker 4242)\nb: b (worker 4242)\n");
  EXPECT_THAT(always.err, HasSubstr("map: 2/2 100%"));
}

TEST_F(CliTest, MapReportsLostConnection) {
  const CliRun run = Taskpool("map crash 1 2");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_THAT(run.err, HasSubstr("closed the connection"));
}

TEST_F(CliTest, CallWritesTheOutputByteForByte) {
  const CliRun run = Taskpool("call echo hello");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hello");  // no newline added outside a terminal
}

TEST_F(CliTest, CallReadsThePayloadFromStdinOrAFile) {
  const std::string binary("\xff\xfe\0\nend", 6);
  EXPECT_EQ(Taskpool("call echo -", binary).out, binary);
  const std::string path = testing::UniqueSocketPath() + ".payload";
  std::ofstream(path, std::ios::binary) << binary;
  EXPECT_EQ(Taskpool("call echo @" + path).out, binary);
  EXPECT_EQ(Taskpool("call --input-file " + path + " echo").out, binary);
  std::remove(path.c_str());
  EXPECT_EQ(Taskpool("call echo @@literal").out, "@literal");
  EXPECT_EQ(Taskpool("call echo").out, "");  // no payload: empty

  const CliRun missing = Taskpool("call echo @/nonexistent/payload");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot open '/nonexistent/payload'"));
}

TEST_F(CliTest, JsonKeepsBinaryOutputsAsBase64) {
  const CliRun run = Taskpool("--json call echo -", "\xff\xfe");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json record = nlohmann::json::parse(run.out);
  EXPECT_EQ(record["result"]["output"], "//4=");
  EXPECT_EQ(Base64Decode(record["result"]["output"].get<std::string>()), "\xff\xfe");
  EXPECT_EQ(record["input"], "//4=");
}

TEST_F(CliTest, StatusJsonIsTheWholeStatusReply) {
  const CliRun run = Taskpool("status --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json status = nlohmann::json::parse(run.out);
  ASSERT_EQ(status["workers"].size(), 2u);
  EXPECT_EQ(status["workers"][1]["pid"], 5001);
  EXPECT_EQ(status["workers"][1]["state"], "idle");
  EXPECT_EQ(status["workers"][1]["tasks_done"], "0");
  EXPECT_EQ(status["daemon_pid"], 4999);
  EXPECT_EQ(status["queue_capacity"], 64);
  // Every field, zero or empty ones too.
  for (const char* field : {"users", "slowlog_ms", "max_in_flight_per_user", "functions",
                            "registered_functions", "uptime_ms", "tasks_failed"}) {
    EXPECT_TRUE(status.contains(field)) << field;
  }
}

TEST_F(CliTest, FunctionsListsBuiltInsAndPluginFunctions) {
  CliRun run = Taskpool("functions");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("echo    built-in\n"));
  EXPECT_THAT(run.out, HasSubstr("shout   plugin /fake/libshout.so\n"));

  run = Taskpool("functions --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json list = nlohmann::json::parse(run.out);
  ASSERT_EQ(list["functions"].size(), 7u);
  EXPECT_EQ(list["functions"][6]["name"], "shout");
  EXPECT_EQ(list["functions"][6]["plugin"], "/fake/libshout.so");
  EXPECT_EQ(list["functions"][0]["disabled"], "");

  run = Taskpool("functions --names");
  EXPECT_EQ(run.out, "crash\ndelay\necho\nerror\nfail\nnever\nshout\n");
}

TEST_F(CliTest, StatusTable) {
  const CliRun run = Taskpool("status");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("WORKER"));
  EXPECT_THAT(run.out, HasSubstr("5001"));
}

TEST_F(CliTest, PingAnswers) {
  const CliRun run = Taskpool("ping");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out,
              HasSubstr("taskpoold at " + daemon_.path() + " answered in"));
}

// Inputs for `map barrier -`: `count` lines, each saying `count`.
std::string BarrierInputs(size_t count) {
  std::string inputs;
  for (size_t i = 0; i < count; ++i) inputs += std::to_string(count) + "\n";
  return inputs;
}

TEST(CliWindowTest, MapKeepsTheDaemonsInFlightLimitBusy) {
  // The barrier answers only once 32 tasks are in flight: the library's
  // default window (4 per worker, 8 here) would never get there.
  testing::FakeDaemon daemon({.workers = 2, .max_in_flight = 32});
  const CliRun run = RunCli("--socket " + daemon.path() + " map --no-tag barrier -",
                            BarrierInputs(32));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(daemon.max_in_flight_seen(), 32u) << "bounded by the announced limit";
}

TEST(CliWindowTest, WithoutAnAnnouncedLimitMapKeepsAThousandInFlight) {
  testing::FakeDaemon daemon({.workers = 2, .max_in_flight = 0});
  const CliRun run = RunCli("--socket " + daemon.path() + " map --no-tag barrier -",
                            BarrierInputs(1024));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(daemon.max_in_flight_seen(), 1024u);
}

TEST(CliWithoutDaemonTest, SaysDaemonIsNotRunningAndExitsThree) {
  const std::string path = testing::UniqueSocketPath();
  for (const char* command : {" ping", " call echo x", " map echo a", " status",
                              " functions", " metrics"}) {
    const CliRun run = RunCli("--socket " + path + command);
    EXPECT_EQ(run.exit_code, 3) << command;
    EXPECT_THAT(run.err, HasSubstr("no taskpoold is listening on " + path)) << command;
  }
  // For shell completion: no names and no message.
  const CliRun names = RunCli("--socket " + path + " functions --names");
  EXPECT_EQ(names.exit_code, 3);
  EXPECT_EQ(names.out, "");
  EXPECT_EQ(names.err, "");
}

TEST(CliUsageTest, MistakesExitTwoWithAHint) {
  for (const char* args :
       {"", "frobnicate", "call", "map --chunksize x f 1", "--no-such-option ping",
        "map --halt soon,fail=1 f 1", "map --progress sometimes f 1", "map --tag --no-tag f 1",
        "map -0 f a", "call --input-file x f a", "completion tcsh", "map --cwd /tmp f 1"}) {
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

TEST(CliUsageTest, HelpDocumentsTheExitCodes) {
  for (const char* args : {"--help", "exec --help", "map --help"}) {
    const CliRun run = RunCli(args);
    EXPECT_THAT(run.out, HasSubstr("Exit status:")) << args;
    EXPECT_THAT(run.out, HasSubstr("3    the daemon is not running")) << args;
    EXPECT_THAT(run.out, HasSubstr("128+N")) << args;
    EXPECT_THAT(run.out, HasSubstr("the number of failed jobs, at most 100")) << args;
  }
}

}  // namespace
}  // namespace taskpool
