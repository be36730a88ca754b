// The exec task function in-process: a cancellation stops the command.
#include "daemon/tasks/exec_task.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "taskpool/v1/exec.pb.h"

namespace taskpool::daemon {
namespace {

TEST(ExecTaskTest, CancellationStopsTheCommandAndEndsCancelled) {
  char directory_template[] = "/tmp/exec-task-test-XXXXXX";
  ASSERT_NE(mkdtemp(directory_template), nullptr);
  const std::string started = std::string(directory_template) + "/started";
  v1::ExecRequest request;
  request.add_argv("/bin/sh");
  request.add_argv("-c");
  // Says it runs, then would sleep far longer than any test.
  request.add_argv("touch '" + started + "'; exec sleep 600");
  TaskContext context;
  // Cancelled as soon as the command is known to run: the event, not a time.
  context.cancelled = [&] { return access(started.c_str(), F_OK) == 0; };

  const TaskOutcome outcome =
      ExecTask(request.SerializeAsString(), 16 << 20, context);
  EXPECT_EQ(outcome.code, ErrorCode::kCancelled) << outcome.data;
  EXPECT_NE(outcome.data.find("cancelled"), std::string::npos) << outcome.data;
  std::remove(started.c_str());
  rmdir(directory_template);
}

TEST(ExecTaskTest, WithoutCancellationTheCommandRunsToItsEnd) {
  v1::ExecRequest request;
  request.add_argv("/bin/sh");
  request.add_argv("-c");
  request.add_argv("echo done; exit 3");
  TaskContext context;
  context.cancelled = [] { return false; };
  const TaskOutcome outcome = ExecTask(request.SerializeAsString(), 16 << 20, context);
  ASSERT_EQ(outcome.code, ErrorCode::kOk) << outcome.data;
  v1::ExecResponse response;
  ASSERT_TRUE(response.ParseFromString(outcome.data));
  EXPECT_EQ(response.exit_code(), 3);
  EXPECT_EQ(response.stdout(), "done\n");
}

}  // namespace
}  // namespace taskpool::daemon
