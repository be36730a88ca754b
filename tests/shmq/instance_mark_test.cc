// Instance marks and the sweep: what a crashed instance left in /dev/shm is
// removed by any later sweep, and nothing of a live instance (or of another
// format) is touched. "Crashed" instances are forked children that _exit
// without destructors.
#include "shmq/instance_mark.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "shmq/blob_store.h"
#include "tests/shmq/shm_objects.h"

namespace taskpool::shmq {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Forks an instance that makes a mark and one blob, reports the mark's
// name and dies without cleaning up.
std::string CrashedInstance() {
  int name_pipe[2];
  EXPECT_EQ(pipe(name_pipe), 0);
  const pid_t child = fork();
  if (child == 0) {
    Result<InstanceMark> mark = InstanceMark::Create();
    if (!mark.ok()) _exit(1);
    ShmId blob;
    if (!BlobStore(mark->name()).Write(blob, "left behind").ok()) _exit(2);
    const std::string& name = mark->name();
    _exit(write(name_pipe[1], name.data(), name.size()) ==
                  static_cast<ssize_t>(name.size())
              ? 0
              : 3);
  }
  close(name_pipe[1]);
  char name[128] = {};
  const ssize_t got = read(name_pipe[0], name, sizeof name - 1);
  close(name_pipe[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return got > 0 ? std::string(name, static_cast<size_t>(got)) : "";
}

TEST(InstanceMarkTest, MarkIsAPrivateUnpredictableFile) {
  Result<InstanceMark> first = InstanceMark::Create();
  Result<InstanceMark> second = InstanceMark::Create();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->name(), second->name());
  EXPECT_EQ(first->name().size(), std::string("taskpool-").size() + 32);
  struct stat st {};
  ASSERT_EQ(lstat(ShmPath(first->name()).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  first->Remove();
  second->Remove();
}

TEST(InstanceMarkTest, SweepRemovesWhatADeadInstanceLeft) {
  const std::string dead = CrashedInstance();
  ASSERT_FALSE(dead.empty());
  ASSERT_EQ(ShmObjectsStartingWith(dead).size(), 2u) << "mark + blob";
  InstanceMark::SweepDeadInstances();
  EXPECT_THAT(ShmObjectsStartingWith(dead), IsEmpty());
}

TEST(InstanceMarkTest, SweepLeavesALiveInstanceAlone) {
  Result<InstanceMark> live = InstanceMark::Create();
  ASSERT_TRUE(live.ok());
  ShmId blob;
  ASSERT_TRUE(BlobStore(live->name()).Write(blob, "in use").ok());
  // Even a sweep from another process, which shares no descriptor.
  const pid_t sweeper = fork();
  if (sweeper == 0) {
    InstanceMark::SweepDeadInstances();
    _exit(0);
  }
  int status = 0;
  waitpid(sweeper, &status, 0);
  EXPECT_THAT(ShmObjectsStartingWith(live->name()),
              UnorderedElementsAre(live->name(), live->name() + "." + HexOf(blob)));
  const std::string name = live->name();
  live->Remove();
  EXPECT_THAT(ShmObjectsStartingWith(name), IsEmpty());
}

TEST(InstanceMarkTest, SweepRemovesBlobsWhoseMarkIsGoneAndNothingElse) {
  // A blob whose mark was removed (a worker that outlived its daemon's
  // clean-up), and names of other formats that must survive.
  const std::string orphan_mark = "taskpool-" + HexOf(RandomShmId());
  ShmId orphan;
  ASSERT_TRUE(BlobStore(orphan_mark).Write(orphan, "orphan").ok());
  const std::string older = "taskpool-0123456789abcdef.in.1.2";  // an older version's
  const std::string other = "taskpool-" + HexOf(RandomShmId()) + "-not-a-blob";
  for (const std::string& name : {older, other}) {
    int error = 0;
    ASSERT_TRUE(CreateNamedShm(name, &error).ok()) << name;
  }
  InstanceMark::SweepDeadInstances();
  EXPECT_THAT(ShmObjectsStartingWith(orphan_mark), IsEmpty());
  EXPECT_EQ(unlink(ShmPath(older).c_str()), 0) << "another format was removed";
  EXPECT_EQ(unlink(ShmPath(other).c_str()), 0) << "another format was removed";
}

}  // namespace
}  // namespace taskpool::shmq
