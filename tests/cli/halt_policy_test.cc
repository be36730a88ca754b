// `taskpool map --halt` in GNU parallel's words.
#include "cli/halt_policy.h"

#include <gtest/gtest.h>

#include "cli/cli_options.h"

namespace taskpool::cli {
namespace {

TEST(HaltPolicyTest, NeverHalts) {
  for (const char* text : {"never", "0"}) {
    const HaltPolicy policy = HaltPolicy::Parse(text);
    EXPECT_FALSE(policy.ShouldHalt(1000, 1000)) << text;
    EXPECT_FALSE(policy.first_failure()) << text;
  }
}

TEST(HaltPolicyTest, CountsFailuresSuccessesOrBoth) {
  const HaltPolicy first_failure = HaltPolicy::Parse("now,fail=1");
  EXPECT_FALSE(first_failure.ShouldHalt(5, 0));
  EXPECT_TRUE(first_failure.ShouldHalt(5, 1));
  EXPECT_TRUE(first_failure.first_failure());
  EXPECT_TRUE(HaltPolicy::Parse("2").first_failure());  // parallel's shorthand

  const HaltPolicy third_failure = HaltPolicy::Parse("now,fail=3");
  EXPECT_FALSE(third_failure.ShouldHalt(0, 2));
  EXPECT_TRUE(third_failure.ShouldHalt(0, 3));
  EXPECT_FALSE(third_failure.first_failure());

  const HaltPolicy success = HaltPolicy::Parse("now,success=2");
  EXPECT_FALSE(success.ShouldHalt(1, 9));
  EXPECT_TRUE(success.ShouldHalt(2, 0));

  const HaltPolicy done = HaltPolicy::Parse("now,done=4");
  EXPECT_FALSE(done.ShouldHalt(2, 1));
  EXPECT_TRUE(done.ShouldHalt(2, 2));
}

TEST(HaltPolicyTest, RejectsWhatItDoesNotOffer) {
  for (const char* text : {"soon,fail=1", "1", "now,fail=10%", "now,fail=0", "now,fail=x",
                           "now,fail", "now,crash=1", "later", ""}) {
    EXPECT_THROW(HaltPolicy::Parse(text), UsageError) << text;
  }
}

}  // namespace
}  // namespace taskpool::cli
