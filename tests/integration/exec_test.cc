// The `exec` task function (shell jobs) against the real daemon: refused
// while off, and when on: exit status, output, stdin, environment, working
// directory, truncation, timeouts, start failures, and no process or
// descriptor left behind.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "taskpool/v1/exec.pb.h"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using Clock = std::chrono::steady_clock;

v1::ExecRequest Command(std::initializer_list<std::string> argv) {
  v1::ExecRequest request;
  for (const std::string& word : argv) request.add_argv(word);
  return request;
}

// Waits up to 10 s for the pid written in `path` to be gone.
bool PidInFileDies(const std::string& path) {
  const pid_t pid = static_cast<pid_t>(std::atoi(ReadFile(path).c_str()));
  if (pid <= 0) {
    ADD_FAILURE() << "no pid in " << path;
    return false;
  }
  for (auto until = Clock::now() + std::chrono::seconds(10); Clock::now() < until;) {
    if (!ProcessIsAlive(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(2, std::vector<std::string>{"--enable-exec"});
    client_ = ConnectTo(daemon_->socket_path());
    ASSERT_NE(client_, nullptr);
  }

  // Runs `request`; records a failure unless the command ran.
  v1::ExecResponse Run(const v1::ExecRequest& request) {
    const TaskResult result = client_->call("exec", request.SerializeAsString());
    v1::ExecResponse response;
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(response.ParseFromString(result.output));
    return response;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

TEST(ExecDisabledTest, RefusedWithAMessageNamingTheOption) {
  DaemonProcess daemon(1);
  std::unique_ptr<Client> client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult result =
      client->call("exec", Command({"true"}).SerializeAsString());
  EXPECT_EQ(result.code, ErrorCode::kPermissionDenied) << result.status().ToString();
  EXPECT_NE(result.error.find("--enable-exec"), std::string::npos) << result.error;
  EXPECT_EQ(result.worker_pid, 0);  // refused at submission, never ran
}

TEST(ExecConfigTest, EnabledFromTheConfigFile) {
  const TempDirectory directory("taskpool-exec-conf");
  const std::string path = directory.File("taskpoold.conf");
  std::ofstream(path) << "enable-exec = true\n";
  {
    DaemonProcess daemon(1, {"--config", path});
    std::unique_ptr<Client> client = ConnectTo(daemon.socket_path());
    ASSERT_NE(client, nullptr);
    const TaskResult result = client->call("exec", Command({"true"}).SerializeAsString());
    EXPECT_TRUE(result.ok()) << result.status().ToString();
  }
}

TEST_F(ExecTest, ReportsExitStatusStdoutAndStderr) {
  const v1::ExecResponse response =
      Run(Command({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(response.exit_code(), 3);
  EXPECT_EQ(response.signal(), 0);
  EXPECT_EQ(response.stdout(), "out\n");
  EXPECT_EQ(response.stderr(), "err\n");
  EXPECT_FALSE(response.stdout_truncated());
  EXPECT_FALSE(response.timed_out());
}

TEST_F(ExecTest, ReportsTheSignalThatKilledTheCommand) {
  const v1::ExecResponse response = Run(Command({"sh", "-c", "kill -KILL $$"}));
  EXPECT_EQ(response.signal(), SIGKILL);
  EXPECT_EQ(response.exit_code(), 128 + SIGKILL);
}

TEST_F(ExecTest, StdinRoundTripsLargerThanAPipeBuffer) {
  // Both directions at once, several pipe buffers each: neither may stall.
  std::string input;
  for (int i = 0; input.size() < 300'000; ++i) input += std::to_string(i) + "\n";
  v1::ExecRequest request = Command({"sh", "-c", "tee /dev/stderr"});
  request.set_stdin(input);
  const v1::ExecResponse response = Run(request);
  EXPECT_EQ(response.exit_code(), 0);
  EXPECT_EQ(response.stdout(), input);
  EXPECT_EQ(response.stderr(), input);
}

TEST_F(ExecTest, SetsEnvironmentAndWorkingDirectory) {
  v1::ExecRequest request = Command({"sh", "-c", "printf '%s|%s|' \"$GREETING\" \"$PWD\"; pwd"});
  request.add_env("GREETING=hello world");
  request.set_cwd(daemon_->directory());
  const v1::ExecResponse response = Run(request);
  EXPECT_EQ(response.stdout(), "hello world|" + daemon_->directory() + "|" +
                                   daemon_->directory() + "\n");
}

TEST_F(ExecTest, ClearEnvLeavesOnlyTheGivenVariables) {
  v1::ExecRequest request = Command({"env"});
  request.set_clear_env(true);
  request.add_env("ONLY=1");
  request.add_env("ONLY=2");  // a later entry wins
  const v1::ExecResponse response = Run(request);
  EXPECT_EQ(response.stdout(), "ONLY=2\n");
}

TEST_F(ExecTest, TruncatesOutputAboveTheCap) {
  v1::ExecRequest request =
      Command({"sh", "-c", "head -c 200000 /dev/zero; echo small >&2"});
  request.set_max_output_bytes(1000);
  const v1::ExecResponse response = Run(request);
  EXPECT_EQ(response.exit_code(), 0);  // the command was not blocked
  EXPECT_EQ(response.stdout().size(), 1000u);
  EXPECT_TRUE(response.stdout_truncated());
  EXPECT_EQ(response.stderr(), "small\n");
  EXPECT_FALSE(response.stderr_truncated());
}

TEST(ExecPayloadLimitTest, OutputCapFitsTheDaemonsMaxPayload) {
  DaemonProcess daemon(1, {"--enable-exec", "--max-payload-bytes", "65536"});
  std::unique_ptr<Client> client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  v1::ExecRequest request = Command({"head", "-c", "1000000", "/dev/zero"});
  request.set_max_output_bytes(10'000'000);
  const TaskResult result = client->call("exec", request.SerializeAsString());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  v1::ExecResponse response;
  ASSERT_TRUE(response.ParseFromString(result.output));
  EXPECT_TRUE(response.stdout_truncated());
  EXPECT_LT(response.stdout().size(), 65536u / 2);
  EXPECT_GT(response.stdout().size(), 0u);
}

TEST_F(ExecTest, TimeoutKillsTheWholeProcessGroup) {
  const std::string pid_file = daemon_->directory() + "/sleep.pid";
  // The sleep is a grandchild: only a group kill reaches it.
  v1::ExecRequest request =
      Command({"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; echo started; wait"});
  request.set_timeout_ms(200);
  const Clock::time_point start = Clock::now();
  const v1::ExecResponse response = Run(request);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
  EXPECT_TRUE(response.timed_out());
  EXPECT_EQ(response.signal(), SIGTERM);
  EXPECT_EQ(response.stdout(), "started\n");  // the output so far
  EXPECT_TRUE(PidInFileDies(pid_file));
}

TEST_F(ExecTest, CommandDiesWithAWorkerKilledForTheTaskTimeout) {
  // `script` writes the pid to watch into $PID_FILE, then waits.
  for (const std::string script : {"echo $$ > \"$PID_FILE\"; exec sleep 30",
                                   "sleep 30 & echo $! > \"$PID_FILE\"; wait"}) {
    const std::string pid_file = daemon_->directory() + "/watched.pid";
    std::remove(pid_file.c_str());
    v1::ExecRequest request = Command({"sh", "-c", script});
    request.add_env("PID_FILE=" + pid_file);
    SubmitOptions options;
    // Long enough for the shell to start and write the pid on a loaded
    // machine, before the timeout kills its worker.
    options.timeout = std::chrono::milliseconds(1500);
    const TaskResult result = client_->call("exec", request.SerializeAsString(), options);
    EXPECT_EQ(result.code, ErrorCode::kTimeout) << script << ": " << result.status().ToString();
    EXPECT_TRUE(PidInFileDies(pid_file)) << script;
  }
}

TEST_F(ExecTest, CommandNotFoundNamesTheCommandAndTheReason) {
  const TaskResult result = client_->call(
      "exec", Command({"no-such-command-4711", "x"}).SerializeAsString());
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_NE(result.error.find("'no-such-command-4711'"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("No such file or directory"), std::string::npos) << result.error;
}

TEST_F(ExecTest, NotExecutableAndBadDirectoryAreClearFailures) {
  const std::string plain_file = daemon_->directory() + "/not-executable";
  std::ofstream(plain_file) << "echo hi\n";
  TaskResult result = client_->call("exec", Command({plain_file}).SerializeAsString());
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_NE(result.error.find("Permission denied"), std::string::npos) << result.error;

  v1::ExecRequest request = Command({"true"});
  request.set_cwd("/no/such/directory");
  result = client_->call("exec", request.SerializeAsString());
  EXPECT_EQ(result.code, ErrorCode::kTaskFailed);
  EXPECT_NE(result.error.find("'/no/such/directory'"), std::string::npos) << result.error;
}

TEST_F(ExecTest, MalformedRequestsAreInvalidArgument) {
  EXPECT_EQ(client_->call("exec", v1::ExecRequest().SerializeAsString()).code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(client_->call("exec", "\xff\xff not a message").code,
            ErrorCode::kInvalidArgument);
  v1::ExecRequest bad_env = Command({"true"});
  bad_env.add_env("NO_EQUALS_SIGN");
  const TaskResult result = client_->call("exec", bad_env.SerializeAsString());
  EXPECT_EQ(result.code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error.find("NO_EQUALS_SIGN"), std::string::npos) << result.error;
}

TEST_F(ExecTest, LeavesNoDescriptorsInTheCommandAndNoZombies) {
  // ls itself opens one descriptor (3) to read the directory.
  const v1::ExecResponse response = Run(Command({"ls", "/proc/self/fd"}));
  EXPECT_EQ(response.stdout(), "0\n1\n2\n3\n");

  const TaskResult result =
      client_->call("exec", Command({"sh", "-c", "sleep 0.1 &"}).SerializeAsString());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(ChildrenOf(result.worker_pid).empty());
}

}  // namespace
}  // namespace taskpool::testing
