// The client's payload arena: first-fit ranges that come back whole, seals
// a worker can rely on, and pages given back when the arena idles.
#include "client/client_arena.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>

namespace taskpool::client {
namespace {

std::unique_ptr<ClientArena> MakeArena(uint64_t bytes) {
  Result<std::unique_ptr<ClientArena>> arena = ClientArena::Create(bytes);
  EXPECT_TRUE(arena.ok()) << arena.status().ToString();
  return arena.ok() ? std::move(arena).value() : nullptr;
}

// Bytes of the arena's file that have pages (st_blocks counts 512-byte units).
uint64_t AllocatedBytes(const ClientArena& arena) {
  struct stat st {};
  EXPECT_EQ(fstat(arena.fd(), &st), 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

TEST(ClientArena, HandsOutTheLowestFreeRangeAndTakesItBack) {
  const std::unique_ptr<ClientArena> arena = MakeArena(1 << 20);
  ASSERT_NE(arena, nullptr);
  const auto first = arena->Allocate(100);
  const auto second = arena->Allocate(1000);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->offset, 0u);
  EXPECT_EQ(first->size, 128u);  // a cache line's multiple
  EXPECT_EQ(second->offset, 128u);
  arena->Free(*first);
  // The freed range comes first again: a steady stream reuses its pages.
  const auto third = arena->Allocate(64);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->offset, 0u);
  arena->Free(*third);
  arena->Free(*second);
  // Freed neighbours join: the whole arena is one range again.
  const auto whole = arena->Allocate(1 << 20);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->offset, 0u);
}

TEST(ClientArena, AFullArenaSaysSoInsteadOfWaiting) {
  const std::unique_ptr<ClientArena> arena = MakeArena(4096);
  ASSERT_NE(arena, nullptr);
  const auto all = arena->Allocate(4096);
  ASSERT_TRUE(all);
  EXPECT_FALSE(arena->Allocate(64));
  EXPECT_FALSE(arena->Allocate(0));
  EXPECT_FALSE(arena->Allocate(8192));
  arena->Free(*all);
  EXPECT_TRUE(arena->Allocate(64));
}

TEST(ClientArena, IsSealedAgainstShrinkingAndGrowing) {
  const std::unique_ptr<ClientArena> arena = MakeArena(1 << 20);
  ASSERT_NE(arena, nullptr);
  const int seals = fcntl(arena->fd(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_NE(ftruncate(arena->fd(), 0), 0);
}

TEST(ClientArena, AnIdleArenaKeepsAtMostItsShareOfPages) {
  const uint64_t bytes = ClientArena::kKeptIdleBytes + (8 << 20);
  const std::unique_ptr<ClientArena> arena = MakeArena(bytes);
  ASSERT_NE(arena, nullptr);
  const auto range = arena->Allocate(bytes);
  ASSERT_TRUE(range);
  for (uint64_t at = 0; at < bytes; at += 4096) *arena->at(at) = 1;
  EXPECT_GE(AllocatedBytes(*arena), bytes);
  arena->Free(*range);
  EXPECT_LE(AllocatedBytes(*arena), ClientArena::kKeptIdleBytes);
  // What it kept still reads as written; what it gave back, as zeros.
  EXPECT_EQ(*arena->at(0), 1);
  EXPECT_EQ(*arena->at(bytes - 4096), 0);
}

}  // namespace
}  // namespace taskpool::client
