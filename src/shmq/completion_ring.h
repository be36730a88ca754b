// A worker's completion ring: single producer (the worker), single consumer
// (the supervisor). Entries name finished slots (PackRef). The ring holds at
// least `capacity` entries and at most `capacity` slots are ever DONE and
// uncollected, so it never fills. Its indices live in the worker's record
// (ShmWorker::completion_tail, completion_head) and survive respawns of the
// worker index: a new process continues where the dead one stopped.
//
// An entry is a hint, not the truth: the supervisor delivers a slot only if
// its state word still says DONE by that worker at that generation, so a
// slot seen twice (ring and recovery) is delivered once.
#pragma once

#include <atomic>
#include <cstdint>

#include "shmq/queue_types.h"
#include "shmq/shared_word.h"
#include "shmq/slot_state.h"

namespace taskpool::shmq {

// A view of one worker's ring. Copy it freely; it owns nothing.
class CompletionRing {
 public:
  // REQUIRES: `size` is a power of two; `entries` holds `size` words.
  CompletionRing(uint64_t& tail, uint64_t& head, uint64_t* entries,
                 uint32_t size)
      : tail_(&tail), head_(&head), entries_{entries, size} {}

  // The worker: appends `ref` (entry first, then a release store of tail).
  void Push(SlotRef ref) {
    const uint64_t tail = Load(*tail_, std::memory_order_relaxed);
    Store(entries_.at(tail), PackRef(ref), std::memory_order_relaxed);
    Store(*tail_, tail + 1, std::memory_order_release);
  }

  // The supervisor: calls `on_entry(SlotRef)` for every entry pushed since
  // the last drain, oldest first.
  template <typename OnEntry>
  void Drain(OnEntry&& on_entry) {
    const uint64_t tail = Load(*tail_, std::memory_order_acquire);
    uint64_t head = *head_;
    for (; head != tail; ++head) {
      on_entry(UnpackRef(Load(entries_.at(head), std::memory_order_relaxed)));
    }
    *head_ = head;
  }

 private:
  uint64_t* tail_;
  uint64_t* head_;
  RingEntries entries_;
};

}  // namespace taskpool::shmq
