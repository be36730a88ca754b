// `taskpool exec` and `taskpool map --exec` against the real daemon.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

class ExecCliTest : public ::testing::Test {
 protected:
  // Three workers, so three jobs run at once in the ordering test.
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(3, std::vector<std::string>{"--enable-exec"});
  }
  CommandResult Cli(const std::vector<std::string>& args, const std::string& in = "") {
    return RunCli(daemon_->socket_path(), args, in);
  }
  // A file in the daemon's directory holding `text`; its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = daemon_->directory() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(ExecCliTest, PassesOutputThroughAndExitsZeroOnSuccess) {
  const CommandResult result =
      Cli({"exec", "--", "sh", "-c", "echo to-out; echo to-err >&2"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "to-out\n");
  EXPECT_EQ(result.err, "to-err\n");
}

TEST_F(ExecCliTest, ExitsWithTheCommandsStatusSayingIt) {
  CommandResult result = Cli({"exec", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("exited with status 3"), std::string::npos) << result.err;

  result = Cli({"exec", "--timeout-ms", "200", "--", "sleep", "30"});
  EXPECT_EQ(result.exit_code, 124);
  EXPECT_NE(result.err.find("timed out"), std::string::npos) << result.err;

  result = Cli({"exec", "--", "no-such-command-4711"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("'no-such-command-4711'"), std::string::npos) << result.err;
}

TEST_F(ExecCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Cli({"exec"}).exit_code, 2);
  EXPECT_EQ(Cli({"exec", "--env", "NOVALUE", "--", "true"}).exit_code, 2);
  EXPECT_EQ(Cli({"map", "--exec", "true {}", "--halt", "soon,fail=1", "a"}).exit_code, 2);
  // No FILE: the names come from stdin, like parallel.
  const CommandResult from_stdin = Cli({"map", "--exec", "echo {/}"}, "dir/x\ny\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, "x\ny\n");
  EXPECT_EQ(Cli({"map", "--cwd", "/tmp", "echo", "a"}).exit_code, 2);
}

TEST_F(ExecCliTest, ForwardsStdinEnvCwdAndReportsTruncation) {
  CommandResult result = Cli({"exec", "--", "tr", "a-z", "A-Z"}, "hello\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "HELLO\n");

  const std::string input = WriteFile("input.txt", "from a file\n");
  result = Cli({"exec", "--stdin", input, "--env", "X=1", "--cwd", daemon_->directory(),
                "--", "sh", "-c", "cat; echo $X; pwd"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "from a file\n1\n" + daemon_->directory() + "\n");

  result = Cli({"exec", "--max-output-bytes", "4", "--", "echo", "truncated"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "trun");
  EXPECT_NE(result.err.find("stdout truncated to 4 bytes"), std::string::npos) << result.err;
}

TEST_F(ExecCliTest, JsonCarriesTheDecodedResponse) {
  const CommandResult result = Cli({"--json", "exec", "--", "sh", "-c", "echo hi; exit 2"});
  EXPECT_EQ(result.exit_code, 2);
  const auto record = nlohmann::json::parse(result.out);
  EXPECT_EQ(record.at("ok"), false) << "it ran, but did not exit 0";
  EXPECT_EQ(record.at("argv").size(), 3u);
  EXPECT_EQ(record.at("result").at("code"), "OK");
  EXPECT_EQ(record.at("result").at("output"), "") << "the response, decoded below";
  EXPECT_EQ(record.at("response").at("exit_code"), 2);
  EXPECT_EQ(record.at("response").at("stdout"), "aGkK");  // "hi\n" in base64
  EXPECT_EQ(record.at("response").at("timed_out"), false);
}

TEST_F(ExecCliTest, MapExecPrintsInInputOrderAndQuotesNames) {
  // The first job sleeps longest, so they finish in reverse order.
  const std::vector<std::string> files = {
      WriteFile("slow one.txt", "1.5"),
      WriteFile("it's \"quoted\" $HOME `x`.txt", "0.8"),
      WriteFile("fast.txt", "0.1"),
  };
  std::vector<std::string> args = {"map", "--exec", "sleep \"$(cat {})\"; printf '%s\\n' {}"};
  args.insert(args.end(), files.begin(), files.end());
  const CommandResult result = Cli(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, files[0] + "\n" + files[1] + "\n" + files[2] + "\n");
}

TEST_F(ExecCliTest, MapExecSaysWhichJobFailed) {
  const CommandResult result =
      Cli({"map", "--exec", "test {} != bad && echo ok:{}", "good", "bad", "fine"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "ok:good\nok:fine\n");
  EXPECT_NE(result.err.find("job 2 (bad) exited with status 1"), std::string::npos)
      << result.err;
}

TEST_F(ExecCliTest, MapExecHasParallelsReplacementStrings) {
  const CommandResult result = Cli({"map", "--exec", "echo {} {.} {/} {//} {/.} {#}",
                                    "dir/sub/file.tar.gz", "a.txt"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "dir/sub/file.tar.gz dir/sub/file.tar file.tar.gz dir/sub file.tar 1\n"
            "a.txt a a.txt . a 2\n");
}

TEST_F(ExecCliTest, MapExecWritesAJoblog) {
  const std::string joblog = daemon_->directory() + "/joblog";
  const CommandResult result =
      Cli({"map", "--joblog", joblog, "--exec", "echo {}; test {} != bad", "good", "bad"});
  EXPECT_EQ(result.exit_code, 1);
  std::istringstream log(ReadFile(joblog));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(log, line);) {
    std::vector<std::string> columns;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, '\t');) columns.push_back(field);
    rows.push_back(columns);
  }
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"Seq", "Host", "Starttime", "JobRuntime", "Send",
                                               "Receive", "Exitval", "Signal", "Command"}));
  for (size_t job = 1; job <= 2; ++job) {
    ASSERT_EQ(rows[job].size(), 9u);
    EXPECT_EQ(rows[job][0], std::to_string(job));
    EXPECT_EQ(rows[job][1], ":");
    EXPECT_GT(std::stod(rows[job][2]), 1e9) << "seconds since the epoch";
    EXPECT_GE(std::stod(rows[job][3]), 0.0);
    EXPECT_EQ(rows[job][7], "0");
  }
  EXPECT_EQ(rows[1][5], "5");  // "good\n"
  EXPECT_EQ(rows[1][6], "0");
  EXPECT_EQ(rows[2][6], "1");
  EXPECT_EQ(rows[2][8], "echo 'bad'; test 'bad' != bad");
}

TEST_F(ExecCliTest, HaltNowStopsAtTheFirstFailureAndKillsTheRunningJobs) {
  // "slow" says it runs (its pid) and would sleep ten minutes; "fails"
  // waits for that, then exits 5.
  const std::string pid_file = daemon_->directory() + "/slow.pid";
  const CommandResult result = Cli(
      {"map", "--halt", "now,fail=1", "--exec",
       "if [ {} = slow ]; then echo $$ > '" + pid_file + "'; exec sleep 600; fi; "
       "while [ ! -s '" + pid_file + "' ]; do sleep 0.05; done; exit 5",
       "slow", "fails"});
  EXPECT_EQ(result.exit_code, 5) << "the failed job's own status\n" << result.err;
  EXPECT_NE(result.err.find("job 2 (fails) exited with status 5"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("--halt: stopping"), std::string::npos) << result.err;
  const pid_t slow = std::stoi(ReadFile(pid_file));
  bool gone = false;
  for (int i = 0; i < 2000 && !gone; ++i) {
    gone = !ProcessIsAlive(slow);
    if (!gone) usleep(10'000);
  }
  EXPECT_TRUE(gone) << "the running job " << slow << " was not killed";
}

TEST(ExecCliDisabledTest, SaysHowToEnableIt) {
  DaemonProcess daemon(1);
  const CommandResult result = RunCli(daemon.socket_path(), {"exec", "--", "true"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("PERMISSION_DENIED"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--enable-exec"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace taskpool::testing
