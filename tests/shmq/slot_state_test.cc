// The slot state word alone, on a plain word: each transition happens only
// from the state and generation it names.
#include "shmq/slot_state.h"

#include <gtest/gtest.h>

namespace taskpool::shmq {
namespace {

TEST(SlotStateTest, PackedFieldsRoundTrip) {
  const uint64_t word = PackState(0xDEADBEEF, SlotState::kDone, 0xFFFF);
  EXPECT_EQ(GenerationOf(word), 0xDEADBEEFu);
  EXPECT_EQ(StateOf(word), SlotState::kDone);
  EXPECT_EQ(OwnerOf(word), 0xFFFFu);
  const SlotRef ref{7, 0xFFFFFFFF};
  EXPECT_EQ(UnpackRef(PackRef(ref)), ref);
}

TEST(SlotStateTest, ALifeFromQueuedToFree) {
  uint64_t word = 0;  // FREE at generation 0, as ftruncate leaves it
  SlotStateWord state(word);
  state.PublishQueued(1);
  EXPECT_TRUE(state.IsQueuedAt(1));
  EXPECT_FALSE(state.IsQueuedAt(2));

  EXPECT_TRUE(state.TryClaim(1, 3));
  EXPECT_EQ(state.Load(), PackState(1, SlotState::kRunning, 3));
  EXPECT_FALSE(state.TryClaim(1, 4)) << "a second claim of one ticket";

  EXPECT_FALSE(state.TryFinish(1, 4)) << "finished by a worker not holding it";
  EXPECT_TRUE(state.TryFinish(1, 3));
  EXPECT_EQ(state.Load(), PackState(1, SlotState::kDone, 3));

  state.PublishFree(1);
  EXPECT_EQ(StateOf(state.Load()), SlotState::kFree);
  EXPECT_EQ(GenerationOf(state.Load()), 1u) << "the next allocation bumps it";
}

TEST(SlotStateTest, StaleTicketCannotClaimAReusedSlot) {
  uint64_t word = 0;
  SlotStateWord state(word);
  state.PublishQueued(1);
  ASSERT_TRUE(state.TryWithdraw(1));
  state.PublishQueued(2);  // reused before the old ticket was taken
  EXPECT_FALSE(state.TryClaim(1, 0));
  EXPECT_TRUE(state.TryClaim(2, 0));
}

TEST(SlotStateTest, WithdrawLosesToAClaim) {
  uint64_t word = 0;
  SlotStateWord state(word);
  state.PublishQueued(5);
  ASSERT_TRUE(state.TryClaim(5, 2));
  EXPECT_FALSE(state.TryWithdraw(5));
  EXPECT_EQ(state.Load(), PackState(5, SlotState::kRunning, 2));
}

}  // namespace
}  // namespace taskpool::shmq
