#include "daemon/tasks/builtins.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class BuiltinsTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterBuiltins(registry_); }

  TaskOutcome Run(std::string_view function, std::string_view payload) {
    Result<uint32_t> index = registry_.Find(function);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    if (!index.ok()) return TaskOutcome::Error(ErrorCode::kInternal, "");
    return registry_.Run(*index, payload);
  }

  TaskRegistry registry_;
};

TEST_F(BuiltinsTest, RegistersExactlyTheBuiltins) {
  EXPECT_EQ(registry_.names(),
            (std::vector<std::string>{"echo", "fail", "is_prime", "sha256",
                                      "sleep"}));
}

// The tutorial's workload: 454577 is the only prime.
TEST_F(BuiltinsTest, IsPrimeTutorialNumbers) {
  EXPECT_EQ(Run("is_prime", "454577").data, "true");
  for (const char* n :
       {"222377", "3334", "2212", "3345", "23441", "341737", "565633"}) {
    TaskOutcome outcome = Run("is_prime", n);
    EXPECT_EQ(outcome.code, ErrorCode::kOk) << n;
    EXPECT_EQ(outcome.data, "false") << n;
  }
}

TEST(IsPrimeTest, SmallNumbersMatchSieve) {
  constexpr int kLimit = 20000;
  std::vector<bool> composite(kLimit, false);
  for (int i = 2; i < kLimit; ++i) {
    if (composite[i]) continue;
    for (int j = 2 * i; j < kLimit; j += i) composite[j] = true;
  }
  for (int n = 0; n < kLimit; ++n) {
    EXPECT_EQ(builtins::IsPrime(n), n >= 2 && !composite[n]) << n;
  }
}

TEST(IsPrimeTest, EdgeCases) {
  EXPECT_FALSE(builtins::IsPrime(0));
  EXPECT_FALSE(builtins::IsPrime(1));
  EXPECT_TRUE(builtins::IsPrime(2));
  EXPECT_TRUE(builtins::IsPrime(3));
  EXPECT_FALSE(builtins::IsPrime(4));
  EXPECT_FALSE(builtins::IsPrime(25));
  EXPECT_FALSE(builtins::IsPrime(49));
  // Around the 32/64-bit division switch.
  EXPECT_TRUE(builtins::IsPrime(4294967291ull));   // largest prime < 2^32
  EXPECT_FALSE(builtins::IsPrime(4294967295ull));  // 2^32 - 1
  EXPECT_TRUE(builtins::IsPrime(4294967311ull));   // smallest prime > 2^32
  EXPECT_FALSE(builtins::IsPrime(65521ull * 65521ull));  // square of a prime
  // The square of the largest prime below 2^32 (just under 2^64): its only
  // factor is exactly sqrt(n), the last candidate, so an off-by-one limit or
  // an overflowing i*i misses it. Seconds of CPU, like the test below.
  EXPECT_FALSE(builtins::IsPrime(4294967291ull * 4294967291ull));
  EXPECT_FALSE(builtins::IsPrime(18446744073709551615ull));  // 2^64 - 1
}

// About 1.4e9 trial divisions: seconds, the heaviest input there is.
TEST_F(BuiltinsTest, IsPrimeLargestPrimeBelow2To64) {
  EXPECT_EQ(Run("is_prime", "18446744073709551557").data, "true");
  EXPECT_EQ(Run("is_prime", "18446744073709551615").data, "false");
}

TEST_F(BuiltinsTest, IsPrimeAcceptsSurroundingWhitespace) {
  TaskOutcome outcome = Run("is_prime", " 7 ");
  EXPECT_EQ(outcome.code, ErrorCode::kOk);
  EXPECT_EQ(outcome.data, "true");
  EXPECT_EQ(Run("is_prime", "\t454577\n").data, "true");
  EXPECT_EQ(Run("is_prime", "0").data, "false");
  EXPECT_EQ(Run("is_prime", "1").data, "false");
  EXPECT_EQ(Run("is_prime", "007").data, "true");
}

TEST_F(BuiltinsTest, IsPrimeRejectsInvalidInput) {
  for (const char* bad :
       {"", "   ", "-5", "+5", "12a", "0x11", "1 2", "1.0", "1e3",
        "18446744073709551616",  // 2^64
        "99999999999999999999999"}) {
    TaskOutcome outcome = Run("is_prime", bad);
    EXPECT_EQ(outcome.code, ErrorCode::kInvalidArgument) << '"' << bad << '"';
    EXPECT_THAT(outcome.data, HasSubstr("is_prime expects a decimal integer"))
        << bad;
    EXPECT_THAT(outcome.data, HasSubstr(std::string("\"") + bad + "\"")) << bad;
  }
  EXPECT_THAT(Run("is_prime", "").data, HasSubstr("(empty)"));
}

TEST_F(BuiltinsTest, IsPrimeMessageTruncatesAndEscapesInput) {
  // Built with append, not `std::string(5000, '9') + "z"`, which trips a
  // false -Warray-bounds in GCC 12 (bug 105329) in some builds.
  std::string long_input(5000, '9');
  long_input += 'z';
  TaskOutcome outcome = Run("is_prime", long_input);
  EXPECT_EQ(outcome.code, ErrorCode::kInvalidArgument);
  EXPECT_LT(outcome.data.size(), 200u);
  EXPECT_THAT(outcome.data, HasSubstr("...\""));

  outcome = Run("is_prime", std::string("1\xff\x01", 3));
  EXPECT_EQ(outcome.code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(outcome.data, HasSubstr("\"1\\xff\\x01\""));
}

TEST(ParseDecimalU64Test, Bounds) {
  EXPECT_EQ(builtins::ParseDecimalU64("18446744073709551615"),
            18446744073709551615ull);
  EXPECT_EQ(builtins::ParseDecimalU64("18446744073709551616"), std::nullopt);
  EXPECT_EQ(builtins::ParseDecimalU64(" \r\n 42\v\f"), 42u);
  EXPECT_EQ(builtins::ParseDecimalU64("4 2"), std::nullopt);
  EXPECT_EQ(builtins::ParseDecimalU64(std::string("4\0", 2)), std::nullopt);
}

TEST_F(BuiltinsTest, SleepSleepsAndReports) {
  const auto start = std::chrono::steady_clock::now();
  TaskOutcome outcome = Run("sleep", "50");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(outcome.code, ErrorCode::kOk);
  EXPECT_EQ(outcome.data, "slept 50 ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(50));
  EXPECT_EQ(Run("sleep", "0").data, "slept 0 ms");
}

TEST_F(BuiltinsTest, SleepRejectsOutOfRangeAndGarbage) {
  for (const char* bad : {"86400001", "-1", "", "1s", "18446744073709551616"}) {
    TaskOutcome outcome = Run("sleep", bad);
    EXPECT_EQ(outcome.code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_THAT(outcome.data, HasSubstr("sleep expects")) << bad;
    EXPECT_THAT(outcome.data, HasSubstr("0..86400000")) << bad;
  }
}

TEST_F(BuiltinsTest, EchoReturnsInput) {
  EXPECT_EQ(Run("echo", "hi").data, "hi");
  EXPECT_EQ(Run("echo", "").data, "");
  EXPECT_EQ(Run("echo", "").code, ErrorCode::kOk);
}

TEST_F(BuiltinsTest, Sha256) {
  EXPECT_EQ(Run("sha256", "abc").data,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Run("sha256", "").data,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  TaskOutcome binary = Run("sha256", std::string("\0\xff", 2));
  EXPECT_EQ(binary.code, ErrorCode::kOk);
  EXPECT_EQ(binary.data.size(), 64u);
  EXPECT_THAT(binary.data, Not(HasSubstr("A")));
}

TEST_F(BuiltinsTest, FailReturnsTaskFailed) {
  TaskOutcome outcome = Run("fail", "disk on fire");
  EXPECT_EQ(outcome.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(outcome.data, "disk on fire");
  outcome = Run("fail", "");
  EXPECT_EQ(outcome.code, ErrorCode::kTaskFailed);
  EXPECT_EQ(outcome.data, "failed on purpose");
}

}  // namespace
}  // namespace taskpool::daemon
