#include "daemon/tasks/task_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace taskpool::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TaskOutcome Constant(std::string_view) { return TaskOutcome::Ok("x"); }

TEST(TaskRegistryTest, RegisterThenFindAndRun) {
  TaskRegistry registry;
  ASSERT_TRUE(registry
                  .Register("double",
                            [](std::string_view payload) {
                              return TaskOutcome::Ok(std::string(payload) +
                                                     std::string(payload));
                            })
                  .ok());
  ASSERT_TRUE(registry.Register("const", Constant).ok());
  EXPECT_EQ(registry.size(), 2u);

  Result<uint32_t> index = registry.Find("double");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(registry.name(*index), "double");
  TaskOutcome outcome = registry.Run(*index, "ab");
  EXPECT_EQ(outcome.code, ErrorCode::kOk);
  EXPECT_EQ(outcome.data, "abab");
}

TEST(TaskRegistryTest, RejectsEmptyAndDuplicateNames) {
  TaskRegistry registry;
  EXPECT_EQ(registry.Register("", Constant).code(),
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(registry.Register("a", Constant).ok());
  Status duplicate = registry.Register("a", Constant);
  EXPECT_EQ(duplicate.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(duplicate.message(), HasSubstr("'a'"));
  EXPECT_EQ(registry.size(), 1u);
}

TEST(TaskRegistryTest, RejectsEmptyFunction) {
  TaskRegistry registry;
  EXPECT_EQ(registry.Register("a", TaskFunction()).code(),
            ErrorCode::kInvalidArgument);
}

TEST(TaskRegistryTest, NamesAreSorted) {
  TaskRegistry registry;
  for (const char* name : {"zeta", "alpha", "mid"}) {
    ASSERT_TRUE(registry.Register(name, Constant).ok());
  }
  EXPECT_THAT(registry.names(), ElementsAre("alpha", "mid", "zeta"));
}

TEST(TaskRegistryTest, UnknownFunctionListsKnownOnes) {
  TaskRegistry registry;
  RegisterBuiltins(registry);
  Result<uint32_t> found = registry.Find("foo");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), ErrorCode::kUnknownFunction);
  EXPECT_EQ(found.status().message(),
            "unknown function 'foo'; known functions: echo, fail, is_prime, "
            "sha256, sleep");
}

TEST(TaskRegistryTest, RefusedNameFailsWithItsOwnStatus) {
  TaskRegistry registry;
  registry.Refuse("exec", Status(ErrorCode::kPermissionDenied, "exec is off"));
  Result<uint32_t> found = registry.Find("exec");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(found.status().message(), "exec is off");
  EXPECT_TRUE(registry.names().empty());  // not listed as a known function
  // A registered function of that name wins over the refusal.
  ASSERT_TRUE(registry.Register("exec", [](std::string_view) {
    return TaskOutcome::Ok("");
  }).ok());
  EXPECT_TRUE(registry.Find("exec").ok());
}

TEST(TaskRegistryTest, ListingNamesEveryFunctionsOriginSortedByName) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register("zeta", Constant).ok());
  ASSERT_TRUE(registry.Register("shout", Constant, "/opt/libshout.so").ok());
  registry.Refuse("exec", Status(ErrorCode::kPermissionDenied, "exec is off"));
  registry.Refuse("zeta", Status(ErrorCode::kPermissionDenied, "shadowed"));
  const std::vector<FunctionListing> listing = registry.Listing();
  ASSERT_EQ(listing.size(), 3u);
  EXPECT_EQ(listing[0].name, "exec");
  EXPECT_EQ(listing[0].plugin, "");
  EXPECT_EQ(listing[0].disabled, "exec is off");
  EXPECT_EQ(listing[1].name, "shout");
  EXPECT_EQ(listing[1].plugin, "/opt/libshout.so");
  EXPECT_EQ(listing[1].disabled, "");
  EXPECT_EQ(listing[2].name, "zeta");  // registered wins over the refusal
  EXPECT_EQ(listing[2].disabled, "");
}

TEST(TaskRegistryTest, UnknownFunctionMessageTruncatesLongNames) {
  TaskRegistry registry;
  Result<uint32_t> found = registry.Find(std::string(10000, 'x'));
  ASSERT_FALSE(found.ok());
  EXPECT_LT(found.status().message().size(), 200u);
  EXPECT_THAT(found.status().message(), HasSubstr("xxx...'"));
}

TEST(TaskRegistryTest, ExceptionBecomesTaskFailed) {
  TaskRegistry registry;
  ASSERT_TRUE(registry
                  .Register("throws",
                            [](std::string_view) -> TaskOutcome {
                              throw std::runtime_error("boom");
                            })
                  .ok());
  ASSERT_TRUE(registry
                  .Register("throws_int",
                            [](std::string_view) -> TaskOutcome { throw 42; })
                  .ok());
  TaskOutcome outcome = registry.Run(registry.Find("throws").value(), "");
  EXPECT_EQ(outcome.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(outcome.data, "boom");
  outcome = registry.Run(registry.Find("throws_int").value(), "");
  EXPECT_EQ(outcome.code, ErrorCode::kTaskFailed);
  EXPECT_THAT(outcome.data, HasSubstr("throws_int"));
}

TEST(TaskRegistryTest, ErrorMessagesAreMadeValidUtf8) {
  TaskRegistry registry;
  RegisterBuiltins(registry);
  // "é" stays; a lone continuation byte and a truncated sequence do not.
  TaskOutcome outcome = registry.Run(registry.Find("fail").value(),
                                     std::string("caf\xc3\xa9 \x80 \xe2\x82"));
  EXPECT_EQ(outcome.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(outcome.data, "caf\xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
}

TEST(TaskRegistryTest, OutputBytesPassThroughUntouched) {
  TaskRegistry registry;
  RegisterBuiltins(registry);
  const std::string binary("\x00\xff\x80\xc0", 4);
  TaskOutcome outcome = registry.Run(registry.Find("echo").value(), binary);
  EXPECT_EQ(outcome.code, ErrorCode::kOk);
  EXPECT_EQ(outcome.data, binary);
}

TEST(TaskRegistryTest, OutOfRangeIndexIsInternalError) {
  TaskRegistry registry;
  EXPECT_EQ(registry.Run(7, "").code, ErrorCode::kInternal);
}

TEST(TaskRegistryTest, ContextualFunctionSeesTaskContext) {
  TaskRegistry registry;
  ASSERT_TRUE(registry
                  .Register("attempt",
                            ContextualTaskFunction([](std::string_view,
                                                      const TaskContext& context) {
                              return TaskOutcome::Ok(std::to_string(context.task_id) + "/" +
                                                     std::to_string(context.attempt));
                            }))
                  .ok());
  TaskContext context;
  context.task_id = 42;
  context.attempt = 3;
  EXPECT_EQ(registry.Run(0, "", context).data, "42/3");
}

TEST(TaskRegistryTest, StartHooksRunInOrderAndStopAtTheFirstFailure) {
  TaskRegistry registry;
  std::vector<std::string> ran;
  registry.AddWorkerStartHook({"a", [&] { ran.push_back("a"); return Status::Ok(); }});
  registry.AddWorkerStartHook({"b", [&]() -> Status {
                                 ran.push_back("b");
                                 throw std::runtime_error("no license");
                               }});
  registry.AddWorkerStartHook({"c", [&] { ran.push_back("c"); return Status::Ok(); }});
  const Status status = registry.RunWorkerStartHooks();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "on_worker_start hook of b failed: no license");
  EXPECT_THAT(ran, ElementsAre("a", "b"));
}

TEST(TaskRegistryTest, ExitHooksAllRunAndReportTheFirstFailure) {
  TaskRegistry registry;
  std::vector<std::string> ran;
  registry.AddWorkerExitHook({"a", [&] {
                                ran.push_back("a");
                                return Status(ErrorCode::kTaskFailed, "flush failed");
                              }});
  registry.AddWorkerExitHook({"b", [&] { ran.push_back("b"); return Status::Ok(); }});
  EXPECT_EQ(registry.RunWorkerExitHooks().message(),
            "on_worker_exit hook of a failed: flush failed");
  EXPECT_THAT(ran, ElementsAre("a", "b"));
  EXPECT_TRUE(TaskRegistry().RunWorkerStartHooks().ok());
}

}  // namespace
}  // namespace taskpool::daemon
