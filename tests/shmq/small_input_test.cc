// A queued small task costs its slot, not a page of shared memory: an
// input of at most kSlotInputBytes is kept inside the slot (layout.md,
// "Slot"). Measured as the queue's shared pages this process has touched
// (RssShmem), which counts pages, not time, so it holds on any machine.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "base/proc_status.h"
#include "base/text_file.h"
#include "shmq/supervisor_queue.h"

namespace taskpool::shmq {
namespace {

// This process's resident shared-memory pages, in bytes (the "RssShmem:"
// line of /proc/self/status, in kB).
uint64_t ResidentSharedBytes() {
  const std::optional<std::string> status = base::ReadTextFile("/proc/self/status");
  const std::optional<uint64_t> kib =
      status ? base::StatusFieldKib(*status, "RssShmem") : std::nullopt;
  EXPECT_TRUE(kib.has_value()) << "no RssShmem line in /proc/self/status";
  return kib.value_or(0) * 1024;
}

// The shared memory one queued task of `input` touches, in bytes: `tasks`
// of them enqueued into a fresh queue in which each slot's inline input is
// a page of its own.
uint64_t BytesTouchedPerQueuedTask(const std::string& input, uint32_t tasks) {
  QueueGeometry geometry;
  geometry.capacity = tasks;
  geometry.max_workers = 2;
  geometry.inline_bytes = 4096;
  geometry.max_payload_bytes = 1 << 20;
  auto queue = SupervisorQueue::Create(geometry);
  EXPECT_TRUE(queue.ok()) << queue.status().ToString();
  if (!queue.ok()) return 0;
  const uint64_t before = ResidentSharedBytes();
  for (uint32_t i = 0; i < tasks; ++i) {
    const auto queued = (*queue)->Enqueue(0, input);
    EXPECT_TRUE(queued.ok()) << queued.status().ToString();
    if (!queued.ok()) return 0;
  }
  return (ResidentSharedBytes() - before) / tasks;
}

TEST(SmallInputTest, AQueuedSmallTaskTouchesItsSlotAndNotAPageOfPayloads) {
  // A 192-byte slot and an 8-byte ticket; an input in the inline area
  // would add a 4,096-byte page.
  const uint64_t touched = BytesTouchedPerQueuedTask(std::string(16, 's'), 2000);
  EXPECT_GT(touched, 0u);
  EXPECT_LT(touched, 512u);
}

TEST(SmallInputTest, AnInputOneByteTooLargeForTheSlotGoesToTheInlineArea) {
  // So the test above measures what it means to: this input touches its page.
  EXPECT_GE(BytesTouchedPerQueuedTask(std::string(kSlotInputBytes + 1, 'b'), 500), 4096u);
}

}  // namespace
}  // namespace taskpool::shmq
