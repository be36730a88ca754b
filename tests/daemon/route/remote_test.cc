// With --cluster: which tasks leave for other nodes (local first; lock
// keys and --limit'd functions stay), and how a remote task ends (its
// result, a refusal that brings it back, a cancel, a closed connection).
#include <gtest/gtest.h>

#include "tests/daemon/route/router_fixture.h"

namespace taskpool::daemon::testing {
namespace {

class RemoteTest : public RouterTest {
 protected:
  RemoteTest() {
    config_.workers = 1;
    config_.cluster.servers = {"nats://127.0.0.1:4222"};
    config_.cluster.node_name = "here";
    remote_.others_have = {"echo", "resize"};
  }

  TaskRouter& clustered() {
    TaskRouter& made = router();
    made.SetRemoteExecution(&remote_);
    return made;
  }

  // What another node sends back for a task that ran there.
  static v1::Result RanElsewhere(uint64_t id, std::string output) {
    v1::Result result;
    result.set_id(id);
    result.set_code(v1::OK);
    result.set_output(std::move(output));
    result.set_worker_pid(777);
    result.set_node("there");
    result.set_run_us(40);
    return result;
  }

  // Answers published task `id` of connection `client` with `result`, as
  // RemoteTasks does: its pass released first.
  void AnswerRemote(uint64_t client, uint64_t id, v1::Result result) {
    uint32_t function_index = 0;
    uint32_t tasks = 0;
    {
      const RemoteSubmission task = remote_.Take(client, id);
      function_index = task.function_index;
      tasks = task.tasks;
    }
    router().DeliverRemoteResult(client, function_index, tasks, false, std::move(result));
  }

  FakeRemote remote_;
};

TEST_F(RemoteTest, ATaskRunsHereWhileAWorkerIsFreeAndTheRestIsPublished) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  EXPECT_EQ(queue_->queued(), 1u);
  ASSERT_EQ(remote_.published.size(), 1u);
  EXPECT_EQ(remote_.published[0].submit.id(), 2u);
  EXPECT_EQ(remote_.published[0].client, 1u);
  EXPECT_EQ(router().in_flight(), 2u) << "the remote task counts until it is answered";
  EXPECT_TRUE(router().HasTasksInFlight(1));
}

TEST_F(RemoteTest, ATaskFromTheQueueFindingNoFreeWorkerGoesBackUncounted) {
  clustered();
  remote_.agent_connection = 9;
  FakeClient agent(9, 1000);
  FakeClient local(1, 1000);
  Submit(agent, 1);  // the one free worker
  EXPECT_EQ(queue_->queued(), 1u);
  Submit(local, 1);  // published: no worker free
  Submit(agent, 2);  // fetched before the agent heard the worker was taken
  ASSERT_EQ(agent.results().size(), 1u);
  EXPECT_EQ(agent.results()[0].id(), 2u);
  EXPECT_EQ(agent.results()[0].code(), v1::QUEUE_FULL);
  EXPECT_EQ(queue_->queued(), 1u) << "not hoarded behind the busy worker";
  EXPECT_TRUE(remote_.published.size() == 1u && remote_.published[0].client == 1u)
      << "the agent's own tasks never leave again from here";
  v1::StatusReply status;
  router().stats().FillTotals(&status);
  EXPECT_EQ(status.tasks_submitted(), 2u) << "the one handed back is not counted";
  EXPECT_EQ(status.tasks_failed(), 0u);
}

TEST_F(RemoteTest, LockKeysAndLimitedFunctionsStayHere) {
  config_.function_limits = {{"sleep", 4}};
  remote_.others_have.insert("sleep");
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2, "echo", WithLock("k"));
  Submit(client, 3, "sleep");
  EXPECT_TRUE(remote_.published.empty());
  EXPECT_EQ(queue_->queued(), 3u);
}

TEST_F(RemoteTest, NothingLeavesWhileTheQueueIsUnreachable) {
  clustered();
  remote_.reachable = false;
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  EXPECT_TRUE(remote_.published.empty());
  EXPECT_EQ(queue_->queued(), 2u);
}

TEST_F(RemoteTest, AFunctionOnlyOtherNodesHaveIsPublishedEvenWithAFreeWorker) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1, "resize");
  ASSERT_EQ(remote_.published.size(), 1u);
  EXPECT_EQ(remote_.published[0].function_index, FunctionStats::kUnknownFunction);
  EXPECT_EQ(queue_->queued(), 0u);
}

TEST_F(RemoteTest, AFunctionNoNodeHasIsUnknown) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1, "nowhere");
  EXPECT_EQ(client.ResultFor(1).code(), v1::UNKNOWN_FUNCTION);
}

TEST_F(RemoteTest, ARemoteResultReachesTheClientAndIsCounted) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  AnswerRemote(1, 2, RanElsewhere(2, "from there"));
  const v1::Result result = client.ResultFor(2);
  EXPECT_EQ(result.output(), "from there");
  EXPECT_EQ(result.node(), "there");
  EXPECT_EQ(result.worker_pid(), 777);
  EXPECT_EQ(router().counters().succeeded, 1u);
  EXPECT_EQ(router().in_flight(), 1u);
}

TEST_F(RemoteTest, AResultOfATaskThatRanHereNamesThisNode) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  RunNext(0);
  EXPECT_EQ(client.ResultFor(1).node(), "here");
}

TEST_F(RemoteTest, ATaskTheQueueRefusedRunsHere) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  router().RunHere(remote_.Take(1, 2));
  EXPECT_TRUE(remote_.published.empty()) << "not published again";
  EXPECT_EQ(queue_->queued(), 2u);
  RunNext(0);
  RunNext(0);
  EXPECT_EQ(client.ResultFor(2).node(), "here");
  EXPECT_FALSE(router().HasTasksInFlight(1));
}

TEST_F(RemoteTest, ARefusedTaskOnlyOtherNodesCouldRunIsUnknown) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1, "resize");
  router().RunHere(remote_.Take(1, 1));
  EXPECT_EQ(client.ResultFor(1).code(), v1::UNKNOWN_FUNCTION);
  EXPECT_FALSE(router().HasTasksInFlight(1));
}

TEST_F(RemoteTest, ACancelOfARemoteTaskGoesToTheCluster) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  Cancel(client, 2);
  EXPECT_EQ(remote_.cancelled, std::vector<uint64_t>{2});
  EXPECT_FALSE(client.HasResult(2)) << "the cluster answers it";
  Cancel(client, 1);
  EXPECT_EQ(client.ResultFor(1).code(), v1::CANCELLED) << "a local task is cancelled here";
}

TEST_F(RemoteTest, AClosedConnectionForgetsItsRemoteTasks) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  ASSERT_TRUE(queue_->Claim(0).has_value());
  router().ConnectionClosed(client);
  EXPECT_EQ(remote_.closed, std::vector<uint64_t>{1});
  EXPECT_TRUE(remote_.published.empty());
  EXPECT_EQ(router().in_flight(), 1u) << "the running task stays until it ends";
  queue_->Finish(0, ErrorCode::kOk, "unwanted");
  router().CollectResults();
  EXPECT_FALSE(client.HasResult(1));
  EXPECT_FALSE(router().HasTasksInFlight(1));
  EXPECT_EQ(router().in_flight(), 0u);
}

TEST_F(RemoteTest, ARemoteResultReleasesItsUsersShare) {
  config_.max_in_flight_per_user = 2;
  clustered();
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 3; ++id) Submit(client, id);
  ASSERT_EQ(remote_.published.size(), 1u);
  EXPECT_EQ(router().waiting(), 1u) << "task 3 waits for the user's share";
  AnswerRemote(1, 2, RanElsewhere(2, "done"));
  EXPECT_EQ(router().waiting(), 0u);
  ASSERT_EQ(remote_.published.size(), 1u) << "task 3 went on, to the cluster";
  EXPECT_EQ(remote_.published[0].submit.id(), 3u);
}

TEST_F(RemoteTest, AUsersRemoteTasksCountAsItsTasksInFlight) {
  config_.max_in_flight_per_user = 3;
  clustered();
  FakeClient client(1, 1000);
  for (uint64_t id = 1; id <= 4; ++id) Submit(client, id);
  ASSERT_EQ(remote_.published.size(), 2u);
  v1::StatusReply status;
  router().FillUsers(&status);
  ASSERT_EQ(status.users_size(), 1);
  EXPECT_EQ(status.users(0).in_flight(), 3u) << "one here, two elsewhere";
  EXPECT_EQ(status.users(0).held(), 1u);
}

TEST_F(RemoteTest, AForcedShutdownCancelsRemoteTasks) {
  clustered();
  FakeClient client(1, 1000);
  Submit(client, 1);
  Submit(client, 2);
  router().CancelNotRunning("shutting down", CancelReason::kShutdown);
  EXPECT_EQ(remote_.cancel_all, std::vector<std::string>{"shutting down"});
  EXPECT_EQ(client.ResultFor(1).code(), v1::CANCELLED);
}

}  // namespace
}  // namespace taskpool::daemon::testing
