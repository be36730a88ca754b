// A worker's completion ring alone, over plain memory.
#include "shmq/completion_ring.h"

#include <gtest/gtest.h>

#include <vector>

namespace taskpool::shmq {
namespace {

std::vector<SlotRef> DrainAll(CompletionRing ring) {
  std::vector<SlotRef> drained;
  ring.Drain([&drained](SlotRef ref) { drained.push_back(ref); });
  return drained;
}

TEST(CompletionRingTest, DrainsWhatWasPushedOnceInOrder) {
  uint64_t tail = 0, head = 0;
  std::vector<uint64_t> entries(4);
  CompletionRing ring(tail, head, entries.data(), 4);
  EXPECT_TRUE(DrainAll(ring).empty());
  ring.Push({3, 1});
  ring.Push({0, 9});
  EXPECT_EQ(DrainAll(ring), (std::vector<SlotRef>{{3, 1}, {0, 9}}));
  EXPECT_TRUE(DrainAll(ring).empty()) << "drained twice";
}

TEST(CompletionRingTest, WrapsAround) {
  uint64_t tail = 0, head = 0;
  std::vector<uint64_t> entries(2);
  CompletionRing ring(tail, head, entries.data(), 2);
  for (uint32_t i = 0; i < 7; ++i) {
    ring.Push({i, i});
    EXPECT_EQ(DrainAll(ring), (std::vector<SlotRef>{{i, i}}));
  }
  EXPECT_EQ(tail, 7u);
  EXPECT_EQ(head, 7u);
}

// The indices live in the worker's record, not in the view: a respawned
// worker (a new view of the same words) continues where its predecessor
// stopped, and the supervisor misses nothing pushed by either.
TEST(CompletionRingTest, ARespawnedWorkerContinuesTheRing) {
  uint64_t tail = 0, head = 0;
  std::vector<uint64_t> entries(4);
  CompletionRing(tail, head, entries.data(), 4).Push({1, 1});
  CompletionRing respawned(tail, head, entries.data(), 4);
  respawned.Push({2, 1});
  EXPECT_EQ(DrainAll(respawned), (std::vector<SlotRef>{{1, 1}, {2, 1}}));
}

}  // namespace
}  // namespace taskpool::shmq
