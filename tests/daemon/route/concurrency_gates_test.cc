// ConcurrencyGates: lock keys, per-key limits and per-prefix limits (the
// per-user share of --max-in-flight-per-user).
#include "daemon/route/concurrency_gates.h"

#include <gtest/gtest.h>

#include <optional>
#include <utility>

namespace taskpool::daemon {
namespace {

using Pass = ConcurrencyGates::Pass;

TEST(ConcurrencyGatesTest, AKeyWithoutALimitIsALock) {
  ConcurrencyGates gates;
  std::optional<Pass> first = gates.TryEnter({"lock/a"});
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(gates.TryEnter({"lock/a"}).has_value());
  EXPECT_TRUE(gates.TryEnter({"lock/b"}).has_value());
  first.reset();
  EXPECT_TRUE(gates.TryEnter({"lock/a"}).has_value());
}

TEST(ConcurrencyGatesTest, PrefixLimitAppliesToEachKeySeparately) {
  ConcurrencyGates gates;
  gates.SetPrefixLimit("user/", 2);
  EXPECT_TRUE(gates.HasLimit("user/1000"));
  EXPECT_FALSE(gates.HasLimit("function/sleep"));
  EXPECT_EQ(gates.LimitOf("user/1000"), 2u);

  std::optional<Pass> a1 = gates.TryEnter({"user/1000"});
  std::optional<Pass> a2 = gates.TryEnter({"user/1000"});
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(gates.TryEnter({"user/1000"}).has_value()) << "user 1000 is at its share";
  std::optional<Pass> b1 = gates.TryEnter({"user/65534"});
  EXPECT_TRUE(b1.has_value()) << "another user is not held by the first one's share";
  EXPECT_EQ(gates.active("user/1000"), 2u);

  a1.reset();  // a task of user 1000 ended: room for one more
  EXPECT_EQ(gates.active("user/1000"), 1u);
  EXPECT_TRUE(gates.TryEnter({"user/1000"}).has_value());
}

TEST(ConcurrencyGatesTest, AnExactLimitWinsOverThePrefix) {
  ConcurrencyGates gates;
  gates.SetPrefixLimit("user/", 1);
  gates.SetLimit("user/0", 3);
  EXPECT_EQ(gates.LimitOf("user/0"), 3u);
  EXPECT_EQ(gates.LimitOf("user/5"), 1u);
}

TEST(ConcurrencyGatesTest, AllGatesAtOnceOrNone) {
  ConcurrencyGates gates;
  gates.SetPrefixLimit("user/", 1);
  std::optional<Pass> holder = gates.TryEnter({"lock/k"});
  ASSERT_TRUE(holder.has_value());
  // Blocked by the lock: the user's place must not be taken.
  EXPECT_FALSE(gates.TryEnter({"lock/k", "user/7"}).has_value());
  EXPECT_EQ(gates.active("user/7"), 0u);
  Pass moved = std::move(*holder);
  holder.reset();
  EXPECT_EQ(gates.active("lock/k"), 1u) << "a moved pass keeps its place";
}

}  // namespace
}  // namespace taskpool::daemon
