// A task slot's state word: one 64-bit atomic that says, at every
// instruction, who holds the slot. Every transition is a single atomic
// store or compare-and-swap, so a worker that dies at any point leaves a
// word the supervisor can read for what it held:
//
//   supervisor: FREE -> QUEUED (Enqueue, generation + 1),
//               QUEUED -> FREE (withdraw, CAS), DONE -> FREE (collected),
//               RUNNING(dead w) -> QUEUED (Requeue, generation + 1) or FREE;
//   worker w:   QUEUED -> RUNNING(w) (claim, CAS),
//               RUNNING(w) -> DONE(w) (complete, CAS).
//
// Word: generation (bits 63..32) | unused (31..24) | state (23..16) |
// owner worker (15..0, meaningful in RUNNING and DONE).
#pragma once

#include <atomic>
#include <cstdint>

#include "shmq/queue_types.h"
#include "shmq/shared_word.h"

namespace taskpool::shmq {

enum class SlotState : uint8_t {
  kFree = 0,
  kQueued = 1,
  kRunning = 2,
  kDone = 3
};

constexpr uint64_t PackState(uint32_t generation, SlotState state,
                             uint32_t owner) {
  return (uint64_t{generation} << 32) |
         (uint64_t{static_cast<uint8_t>(state)} << 16) | (owner & 0xFFFFu);
}
constexpr uint32_t GenerationOf(uint64_t word) {
  return static_cast<uint32_t>(word >> 32);
}
constexpr SlotState StateOf(uint64_t word) {
  return static_cast<SlotState>((word >> 16) & 0xFF);
}
constexpr uint32_t OwnerOf(uint64_t word) {
  return static_cast<uint32_t>(word & 0xFFFF);
}

// Tickets and completion entries name a slot at one generation.
constexpr uint64_t PackRef(SlotRef ref) {
  return (uint64_t{ref.generation} << 32) | ref.index;
}
constexpr SlotRef UnpackRef(uint64_t word) {
  return SlotRef{static_cast<uint32_t>(word),
                 static_cast<uint32_t>(word >> 32)};
}

// The transitions of one slot's word (ShmSlot::state). A view: copy it
// freely. Each method names the side that may call it.
class SlotStateWord {
 public:
  explicit SlotStateWord(uint64_t& word) : word_(word) {}

  uint64_t Load(std::memory_order order = std::memory_order_acquire) const {
    return word_.load(order);
  }
  bool IsQueuedAt(uint32_t generation) const {
    return Load() == PackState(generation, SlotState::kQueued, 0);
  }

  // Supervisor: makes a slot whose task fields it wrote claimable (release,
  // so the worker's acquiring claim sees them).
  void PublishQueued(uint32_t generation) {
    word_.store(PackState(generation, SlotState::kQueued, 0),
                std::memory_order_release);
  }
  // Supervisor: the slot is free again, keeping its generation (the next
  // allocation bumps it).
  void PublishFree(uint32_t generation) {
    word_.store(PackState(generation, SlotState::kFree, 0),
                std::memory_order_release);
  }
  // Supervisor: QUEUED -> FREE unless a worker claimed it first.
  bool TryWithdraw(uint32_t generation) {
    uint64_t queued = PackState(generation, SlotState::kQueued, 0);
    return word_.compare_exchange_strong(
        queued, PackState(generation, SlotState::kFree, 0),
        std::memory_order_acq_rel, std::memory_order_relaxed);
  }

  // Worker w: QUEUED -> RUNNING(w) at the ticket's generation. False for a
  // stale ticket (withdrawn, reused, or a duplicate another worker won).
  bool TryClaim(uint32_t generation, uint32_t worker) {
    uint64_t queued = PackState(generation, SlotState::kQueued, 0);
    return word_.compare_exchange_strong(
        queued, PackState(generation, SlotState::kRunning, worker),
        std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  // Worker w: RUNNING(w) -> DONE(w) (release: the outcome written before
  // it is visible to the supervisor's acquire). False if the supervisor
  // took the slot away meanwhile.
  bool TryFinish(uint32_t generation, uint32_t worker) {
    uint64_t running = PackState(generation, SlotState::kRunning, worker);
    return word_.compare_exchange_strong(
        running, PackState(generation, SlotState::kDone, worker),
        std::memory_order_acq_rel, std::memory_order_relaxed);
  }

 private:
  AtomicWord word_;
};

}  // namespace taskpool::shmq
