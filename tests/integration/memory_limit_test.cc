// --worker-memory-limit-mib (issue 14): a task that allocates past the
// limit ends OUT_OF_MEMORY, saying "out of memory: limit N MiB", its worker
// is replaced (a planned replacement, not a death), and tasks under the
// limit run as before.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

using ::testing::HasSubstr;

uint64_t ReplacedFor(const DaemonProcess& daemon, const std::string& reason) {
  const CommandResult result = RunCli(daemon.socket_path(), {"--json", "status"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json status = nlohmann::json::parse(result.out);
  for (const nlohmann::json& entry : status["workers_replaced"]) {
    if (entry["reason"] == reason) return std::stoull(entry["count"].get<std::string>());
  }
  ADD_FAILURE() << "no workers_replaced entry for " << reason << ": " << status.dump();
  return 0;
}

TEST(MemoryLimitTest, ATaskPastTheLimitEndsOutOfMemoryAndItsWorkerIsReplaced) {
  if (kUnderAddressSanitizer) {
    GTEST_SKIP() << "RLIMIT_DATA counts AddressSanitizer's shadow memory (terabytes reserved at "
                    "start), so no limit in MiB can work under it";
  }
  DaemonProcess daemon(1, {"--enable-test-tasks", "--worker-memory-limit-mib", "64"});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);

  const TaskResult small = client->call("alloc", "8");
  ASSERT_TRUE(small.ok()) << small.error;
  const TaskResult big = client->call("alloc", "128");
  EXPECT_EQ(big.code, ErrorCode::kOutOfMemory) << big.error;
  EXPECT_THAT(big.error, HasSubstr("out of memory: limit 64 MiB"));
  EXPECT_EQ(big.worker_pid, small.worker_pid);

  const TaskResult after = client->call("echo", "x");
  ASSERT_TRUE(after.ok()) << after.error;
  EXPECT_NE(after.worker_pid, big.worker_pid) << "the worker that ran out was not replaced";
  EXPECT_EQ(ReplacedFor(daemon, "out_of_memory"), 1u);
  const Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->workers_died, 0u) << "a planned replacement, not a death";
}

TEST(MemoryLimitTest, WithoutALimitTheSameTaskRuns) {
  DaemonProcess daemon(1, {"--enable-test-tasks"});
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult big = client->call("alloc", "128");
  EXPECT_TRUE(big.ok()) << big.error;
}

TEST(MemoryLimitTest, TheEffectiveConfigurationShowsTheLimit) {
  TempDirectory directory("taskpool-memlimit");
  const CommandResult dump =
      RunCommand({DaemonBinary(), "--socket", directory.File("t.sock"), "--test-config",
                  "--dump", "--worker-memory-limit-mib", "512"});
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_THAT(dump.out, HasSubstr("worker-memory-limit-mib = 512"));
}

}  // namespace
}  // namespace taskpool::testing
