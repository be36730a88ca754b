// The payload area reserved a step at a time, seen through the pages the
// segment's file has in /dev/shm (fstat's st_blocks counts exactly those).
#include "shmq/slot_reservation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "shmq/layout.h"
#include "shmq/shm_files.h"

namespace taskpool::shmq {
namespace {

// Slots of 2 x 4 KiB: the first step, a second, and a short last one.
constexpr uint32_t kCapacity = 2 * SlotReservation::kSlotsPerStep + 3;

ShmHeader SmallLayout() {
  QueueGeometry geometry;
  geometry.capacity = kCapacity;
  geometry.max_workers = 2;
  geometry.inline_bytes = 4096;
  EXPECT_TRUE(ValidateGeometry(geometry).ok());
  return PlanLayout(geometry);
}

class SlotReservationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<base::UniqueFd> file =
        CreateAnonymousShm(layout_.total_bytes, SlotReservation::InitialBytes(layout_), "test");
    ASSERT_TRUE(file.ok()) << file.status().message();
    // A second descriptor to watch the pages through.
    watched_ = base::UniqueFd(dup(file->get()));
    reservation_.emplace(std::move(file).value(), layout_, "the test queue");
  }

  uint64_t AllocatedBytes() const {
    struct stat st {};
    EXPECT_EQ(fstat(watched_.get(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  uint64_t EndOfSlot(uint32_t index) const {
    return layout_.payloads_offset + (index + 1) * layout_.payload_stride;
  }

  const ShmHeader layout_ = SmallLayout();
  base::UniqueFd watched_;
  std::optional<SlotReservation> reservation_;
};

TEST_F(SlotReservationTest, CreationReservesTheControlRegionAndTheFirstStepOnly) {
  EXPECT_EQ(reservation_->reserved_slots(), SlotReservation::kSlotsPerStep);
  EXPECT_EQ(AllocatedBytes(), EndOfSlot(SlotReservation::kSlotsPerStep - 1));
  EXPECT_LT(AllocatedBytes(), layout_.total_bytes);
  EXPECT_FALSE(reservation_->complete());
}

TEST_F(SlotReservationTest, CoveringASlotReservesEverySlotUpToIt) {
  ASSERT_TRUE(reservation_->Cover(3).ok()) << "already reserved";
  EXPECT_EQ(reservation_->reserved_slots(), SlotReservation::kSlotsPerStep);
  ASSERT_TRUE(reservation_->Cover(kCapacity - 2).ok());
  EXPECT_EQ(reservation_->reserved_slots(), kCapacity - 1);
  EXPECT_EQ(AllocatedBytes(), EndOfSlot(kCapacity - 2));
}

TEST_F(SlotReservationTest, CoveringTheNextSlotReservesAWholeStep) {
  ASSERT_TRUE(reservation_->Cover(SlotReservation::kSlotsPerStep).ok());
  EXPECT_EQ(reservation_->reserved_slots(), 2 * SlotReservation::kSlotsPerStep);
}

TEST_F(SlotReservationTest, StepsEndWithTheWholeFileReserved) {
  int steps = 0;
  while (!reservation_->complete()) {
    ASSERT_TRUE(reservation_->ReserveNextStep().ok());
    ASSERT_LT(++steps, 10) << "no progress at " << reservation_->reserved_slots();
  }
  EXPECT_EQ(steps, 2);  // a whole step, then the 3 slots left
  EXPECT_EQ(reservation_->reserved_slots(), layout_.capacity);
  EXPECT_EQ(AllocatedBytes(), layout_.total_bytes);
  EXPECT_TRUE(reservation_->ReserveNextStep().ok()) << "nothing left to do is no error";
}

}  // namespace
}  // namespace taskpool::shmq
