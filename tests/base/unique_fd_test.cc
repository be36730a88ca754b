#include "base/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <type_traits>
#include <utility>

namespace taskpool::base {
namespace {

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// A fresh descriptor the test owns (the read end of a pipe; the write end
// is closed at once).
int OpenDescriptor() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[1]);
  return fds[0];
}

TEST(UniqueFdTest, EmptyByDefaultAndForMinusOne) {
  UniqueFd none;
  EXPECT_FALSE(none.valid());
  EXPECT_FALSE(none);
  EXPECT_EQ(none.get(), -1);
  UniqueFd failed(-1);  // e.g. what a failed open() returned
  EXPECT_FALSE(failed);
}

TEST(UniqueFdTest, ClosesWhenDestroyed) {
  const int raw = OpenDescriptor();
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd);
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(IsOpen(raw));
  }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(UniqueFdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  const int raw = OpenDescriptor();
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd);
  }
  EXPECT_TRUE(IsOpen(raw));
  close(raw);
}

TEST(UniqueFdTest, ResetClosesTheOldAndTakesTheNew) {
  const int first = OpenDescriptor();
  const int second = OpenDescriptor();
  UniqueFd fd(first);
  fd.reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_EQ(fd.get(), second);
  fd.reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(fd);
}

TEST(UniqueFdTest, ResetToTheSameDescriptorKeepsItOpen) {
  const int raw = OpenDescriptor();
  UniqueFd fd(raw);
  fd.reset(raw);
  EXPECT_TRUE(IsOpen(raw));
  EXPECT_EQ(fd.get(), raw);
}

TEST(UniqueFdTest, MovesTransferOwnership) {
  const int first = OpenDescriptor();
  const int second = OpenDescriptor();
  UniqueFd a(first);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(b.get(), first);

  UniqueFd c(second);
  c = std::move(b);  // closes what c held
  EXPECT_FALSE(IsOpen(second));
  EXPECT_TRUE(IsOpen(first));
  EXPECT_EQ(c.get(), first);

  UniqueFd& alias = c;
  c = std::move(alias);  // self-move: still holds it
  EXPECT_TRUE(IsOpen(first));
  EXPECT_EQ(c.get(), first);
}

}  // namespace
}  // namespace taskpool::base
