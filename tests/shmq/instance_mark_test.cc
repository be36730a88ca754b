// Instance marks and the sweep: what a crashed instance left in /dev/shm is
// removed by any later sweep, and nothing of a live instance (or of another
// format) is touched. "Crashed" instances are forked children that _exit
// without destructors.
#include "shmq/instance_mark.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
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

// An instance in a forked child that makes a mark and one blob, and dies
// without cleaning up when told to. While it lives its files are safe from
// every sweep, including those of tests running beside this one (each
// InstanceMark::Create sweeps), so they can be counted before it dies.
class DoomedInstance {
 public:
  DoomedInstance() {
    int name_pipe[2];
    int die_pipe[2];
    EXPECT_EQ(pipe(name_pipe), 0);
    EXPECT_EQ(pipe(die_pipe), 0);
    child_ = fork();
    if (child_ == 0) {
      close(name_pipe[0]);
      close(die_pipe[1]);
      Result<InstanceMark> mark = InstanceMark::Create();
      if (!mark.ok()) _exit(1);
      ShmId blob;
      if (!BlobStore(mark->name()).Write(blob, "left behind").ok()) _exit(2);
      const std::string& name = mark->name();
      if (write(name_pipe[1], name.data(), name.size()) !=
          static_cast<ssize_t>(name.size())) {
        _exit(3);
      }
      close(name_pipe[1]);
      char byte;
      (void)!read(die_pipe[0], &byte, 1);  // returns when the parent closes it
      _exit(0);
    }
    close(name_pipe[1]);
    close(die_pipe[0]);
    die_ = die_pipe[1];
    char name[128] = {};
    const ssize_t got = read(name_pipe[0], name, sizeof name - 1);
    close(name_pipe[0]);
    if (got > 0) name_.assign(name, static_cast<size_t>(got));
  }
  ~DoomedInstance() { Die(); }

  const std::string& name() const { return name_; }

  // Ends the child without destructors and reaps it.
  void Die() {
    if (die_ < 0) return;
    close(die_);
    die_ = -1;
    int status = 0;
    waitpid(child_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

 private:
  pid_t child_ = -1;
  int die_ = -1;
  std::string name_;
};

// A sweep skips a mark that another sweep (of a test running beside this
// one) holds locked while it removes it. Taking the lock waits for that
// sweep to finish; a mark still there afterwards was left by ours.
void WaitForOtherSweeps(const std::string& mark) {
  const int fd = open(ShmPath(mark).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // already removed
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  close(fd);
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
  DoomedInstance doomed;
  const std::string dead = doomed.name();
  ASSERT_FALSE(dead.empty());
  ASSERT_EQ(ShmObjectsStartingWith(dead).size(), 2u) << "mark + blob";
  doomed.Die();
  InstanceMark::SweepDeadInstances();
  WaitForOtherSweeps(dead);
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
