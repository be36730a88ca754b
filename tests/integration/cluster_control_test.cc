// What a task keeps across nodes: its timeout, deadline and cancellation
// reach the node running it; functions go only where they exist; lock keys
// and --limit keep a task on its origin; exec runs only where enabled.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include "tests/integration/cluster_fixture.h"
#include "taskpool/v1/exec.pb.h"

namespace taskpool::testing {
namespace {

// The daemon killed a worker to end its task: a planned replacement
// (taskpool_workers_replaced_total{reason="killed"}), not a death.
bool WorkerKilledForItsTask(const v1::StatusReply& status) {
  for (const v1::WorkerReplacements& replaced : status.workers_replaced()) {
    if (replaced.reason() == "killed") return replaced.count() == 1 && status.workers_died() == 0;
  }
  return false;
}

bool Running(const std::string& socket, uint32_t tasks) {
  return WaitForStatus(socket, std::to_string(tasks) + " running",
                       [tasks](const v1::StatusReply& status) { return status.running() == tasks; });
}

// Nodes a and b with one worker each; `blocker_` keeps a's worker busy, so
// what a's clients submit next is published, and b runs it.
class TwoNodes : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> a_args = {}, std::vector<std::string> b_args = {}) {
    a_ = std::make_unique<DaemonProcess>(1, ClusterArgs(nats_.url(), "a", std::move(a_args)));
    b_ = std::make_unique<DaemonProcess>(1, ClusterArgs(nats_.url(), "b", std::move(b_args)));
    ASSERT_TRUE(WaitForClusterOf(a_->socket_path(), 2));
    ASSERT_TRUE(WaitForClusterOf(b_->socket_path(), 2));
    client_ = ConnectTo(a_->socket_path());
    ASSERT_NE(client_, nullptr);
  }
  void SetUp() override { Start(); }

  void BlockA() {
    blocker_ = client_->submit("hold", release_.path());
    ASSERT_TRUE(Running(a_->socket_path(), 1));
  }

  // Submits `function` to a and returns its id; the result lands in result_.
  uint64_t Submit(const std::string& function, const std::string& payload,
                  const SubmitOptions& options = {}) {
    return client_->submit(
        function, payload, [this](TaskResult result) { result_.set_value(std::move(result)); },
        options);
  }

  NatsServer nats_;
  std::unique_ptr<DaemonProcess> a_;
  std::unique_ptr<DaemonProcess> b_;
  // Before client_, so that it outlives the client whose callback sets it.
  std::promise<TaskResult> result_;
  std::unique_ptr<Client> client_;
  Release release_;
  std::future<TaskResult> blocker_;
};

TEST_F(TwoNodes, ATimeoutKillsTheRemoteWorker) {
  BlockA();
  SubmitOptions options;
  options.timeout = std::chrono::milliseconds(200);
  Submit("hold", release_.path(), options);
  const TaskResult result = result_.get_future().get();
  EXPECT_EQ(result.code, ErrorCode::kTimeout) << result.status().ToString();
  EXPECT_EQ(result.node, "b");
  EXPECT_TRUE(WaitForStatus(b_->socket_path(), "b's worker killed", WorkerKilledForItsTask));
  release_.Now();
}

TEST_F(TwoNodes, ADeadlineCountsFromSubmissionAtTheOrigin) {
  BlockA();
  SubmitOptions options;
  options.deadline = std::chrono::milliseconds(3000);
  Submit("hold", release_.path(), options);
  ASSERT_TRUE(Running(b_->socket_path(), 1));
  const TaskResult result = result_.get_future().get();
  EXPECT_EQ(result.code, ErrorCode::kTimeout) << result.status().ToString();
  EXPECT_TRUE(Running(b_->socket_path(), 0));
  release_.Now();
}

TEST_F(TwoNodes, CancelWithKillReachesTheNodeRunningIt) {
  BlockA();
  const uint64_t id = Submit("hold", release_.path());
  ASSERT_TRUE(Running(b_->socket_path(), 1));
  client_->cancel(id, /*kill_running=*/true);
  const TaskResult result = result_.get_future().get();
  EXPECT_EQ(result.code, ErrorCode::kCancelled) << result.status().ToString();
  EXPECT_TRUE(WaitForStatus(b_->socket_path(), "b's worker killed", WorkerKilledForItsTask));
  release_.Now();
}

TEST_F(TwoNodes, CancelWithoutKillAsksTheRemoteTaskToStop) {
  BlockA();
  const uint64_t id = Submit("hold", release_.path());
  ASSERT_TRUE(Running(b_->socket_path(), 1));
  client_->cancel(id, /*kill_running=*/false);
  const TaskResult result = result_.get_future().get();
  EXPECT_EQ(result.code, ErrorCode::kCancelled) << result.status().ToString();
  // `hold` saw Context::cancelled() on b and returned; its worker lives.
  EXPECT_TRUE(Running(b_->socket_path(), 0));
  EXPECT_EQ(StatusOf(b_->socket_path()).workers_died(), 0u);
  release_.Now();
}

TEST_F(TwoNodes, AClientThatGoesAwayStopsItsRemoteTasks) {
  BlockA();
  {
    auto other = ConnectTo(a_->socket_path());
    ASSERT_NE(other, nullptr);
    other->submit("hold", release_.path(), [](TaskResult) {});
    ASSERT_TRUE(Running(b_->socket_path(), 1));
  }
  // `hold` sees Context::cancelled() on b and returns.
  EXPECT_TRUE(Running(b_->socket_path(), 0));
  release_.Now();
}

TEST_F(TwoNodes, LockKeysStayOnTheirOrigin) {
  BlockA();
  SubmitOptions options;
  options.lock = "k";
  Submit("echo", "locked", options);
  // b is idle, yet the task waits for a's worker.
  release_.Now();
  const TaskResult result = result_.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.node, "a");
  EXPECT_EQ(StatusOf(a_->socket_path()).cluster().published(), 0u);
}

TEST_F(TwoNodes, AFunctionNoNodeHasIsUnknown) {
  const TaskResult result = client_->call("no_such_function", "");
  EXPECT_EQ(result.code, ErrorCode::kUnknownFunction);
}

class TwoNodesWithOptions : public TwoNodes {
 protected:
  void SetUp() override {}
};

TEST_F(TwoNodesWithOptions, LimitedFunctionsStayOnTheirOrigin) {
  Start({"--limit", "echo=5"});
  BlockA();
  Submit("echo", "limited");
  release_.Now();
  const TaskResult result = result_.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.node, "a");
}

TEST_F(TwoNodesWithOptions, AFunctionOnlyOneNodeHasRunsThere) {
  Start({}, {"--plugin", ONLY_HERE_PLUGIN_PATH});
  // a is idle, but has no `only_here`.
  const TaskResult result = client_->call("only_here", "x");
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.output, "only here: x");
  EXPECT_EQ(result.node, "b");
}

std::string EchoCommand() {
  v1::ExecRequest request;
  request.add_argv("/bin/echo");
  request.add_argv("from exec");
  return request.SerializeAsString();
}

TEST_F(TwoNodesWithOptions, ExecRunsOnANodeThatEnabledIt) {
  Start({}, {"--enable-exec"});
  const TaskResult result = client_->call("exec", EchoCommand());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result.node, "b");
  v1::ExecResponse response;
  ASSERT_TRUE(response.ParseFromString(result.output));
  EXPECT_EQ(response.stdout(), "from exec\n");
}

TEST_F(TwoNodes, ExecWithoutAnyNodeEnablingItIsRefused) {
  const TaskResult result = client_->call("exec", EchoCommand());
  EXPECT_EQ(result.code, ErrorCode::kPermissionDenied) << result.status().ToString();
}

}  // namespace
}  // namespace taskpool::testing
