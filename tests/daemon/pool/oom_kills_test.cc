#include "daemon/pool/oom_kills.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

TEST(OomKillsTest, ReadsTheCountOfMemoryEventsAndVmstat) {
  EXPECT_EQ(ParseOomKillCount("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 0\n"),
            2u);
  EXPECT_EQ(ParseOomKillCount("pgfault 123\noom_kill 17\nnr_foo 4"), 17u);
  EXPECT_FALSE(ParseOomKillCount("oom 2\noom_group_kill 1\n").has_value());
  EXPECT_FALSE(ParseOomKillCount("").has_value());
}

TEST(OomKillsTest, FindsTheUnifiedCgroupsMemoryEvents) {
  EXPECT_EQ(CgroupMemoryEventsPath("0::/system.slice/taskpoold.service\n"),
            "/sys/fs/cgroup/system.slice/taskpoold.service/memory.events");
  EXPECT_EQ(CgroupMemoryEventsPath("12:memory:/x\n0::/\n"), "/sys/fs/cgroup/memory.events");
  EXPECT_EQ(CgroupMemoryEventsPath("12:memory:/x\n"), "") << "cgroup v1 only";
}

TEST(OomKillsTest, SaysNothingWhileTheCountStands) {
  OomKillCounter counter;
  // Nobody here runs out of memory between two reads (the kernel's count
  // is what it is; the test only checks that an unchanged one is quiet,
  // which holds unless the machine OOM-kills something meanwhile).
  if (counter.source().empty()) GTEST_SKIP() << "neither memory.events nor /proc/vmstat";
  EXPECT_EQ(counter.NoteIfRose(), "");
}

}  // namespace
}  // namespace taskpool::daemon
