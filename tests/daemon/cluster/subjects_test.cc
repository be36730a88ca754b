#include "daemon/cluster/subjects.h"

#include <gtest/gtest.h>

#include "daemon/cluster/delivery_policy.h"

namespace taskpool::cluster {
namespace {

TEST(Subjects, PlainFunctionNamesAreTheirOwnTokens) {
  EXPECT_EQ(Subjects::FunctionToken("is_prime"), "is_prime");
  EXPECT_EQ(Subjects::FunctionToken("word-count2"), "word-count2");
}

TEST(Subjects, OtherNamesAreHexSoTheyCannotBreakASubject) {
  EXPECT_EQ(Subjects::FunctionToken("a.b"), "~612e62");
  EXPECT_EQ(Subjects::FunctionToken("x >"), "~78203e");
  EXPECT_EQ(Subjects::FunctionToken(""), "~");
}

TEST(Subjects, EverythingIsNamedAfterTheQueue) {
  const Subjects subjects("jobs");
  EXPECT_EQ(subjects.tasks_stream(), "jobs_tasks");
  EXPECT_EQ(subjects.results_stream(), "jobs_results");
  EXPECT_EQ(subjects.any_tasks(), "jobs.tasks.any");
  EXPECT_EQ(subjects.function_tasks("a.b"), "jobs.tasks.fn.~612e62");
  EXPECT_EQ(subjects.results_for("node-1"), "jobs.results.node-1");
  EXPECT_EQ(subjects.started_for("n"), "jobs.started.n");
  EXPECT_EQ(subjects.avail("echo"), "jobs.avail.echo");
  EXPECT_EQ(Subjects::function_consumer("echo"), "fn_echo");
  EXPECT_EQ(Subjects::results_consumer("n"), "results_n");
}

TEST(DeliveryPolicy, EveryDeliveryCountsAsAnAttempt) {
  EXPECT_FALSE(AttemptsUsedUp(1, 0));
  EXPECT_TRUE(AttemptsUsedUp(2, 0)) << "max_retries 0: a redelivery is not run";
  EXPECT_FALSE(AttemptsUsedUp(3, 2));
  EXPECT_TRUE(AttemptsUsedUp(4, 2));
}

TEST(DeliveryPolicy, APoisonTaskIsAnsweredAtTheLastDelivery) {
  // However many retries it asked for, the last delivery JetStream makes
  // is kept to answer it.
  EXPECT_EQ(AttemptsAllowed(1000), kMaxDeliver - 1);
  EXPECT_FALSE(AttemptsUsedUp(kMaxDeliver - 1, 1000));
  EXPECT_TRUE(AttemptsUsedUp(kMaxDeliver, 1000));
}

}  // namespace
}  // namespace taskpool::cluster
