// The ticket ring: slot tickets in FIFO order, the supervisor the single
// producer and every worker a consumer. A ticket names a slot at one
// generation (slot_state.h's PackRef); the worker that takes one still has
// to win the slot's claim CAS, so a stale or duplicate ticket is harmless.
//
// Producer: write the entry at tail, then publish it by storing tail + 1
// (release). Consumer: load head and tail (acquire); head == tail means
// empty; else read the entry and CAS head -> head + 1. The producer never
// writes unless tail - head < size, so an entry is not overwritten before
// the CAS that takes it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "shmq/queue_types.h"
#include "shmq/shared_word.h"
#include "shmq/slot_state.h"

namespace taskpool::shmq {

// A view of the ring's counters (ShmHeader::ticket_head, ticket_tail) and
// entries. Copy it freely; it owns nothing.
class TicketRing {
 public:
  // REQUIRES: `size` is a power of two; `entries` holds `size` words.
  TicketRing(uint64_t& head, uint64_t& tail, uint64_t* entries, uint32_t size)
      : head_(&head), tail_(&tail), entries_{entries, size} {}

  // Position of the next ticket a worker takes: every position below it
  // has been taken.
  uint64_t head() const { return Load(*head_, std::memory_order_acquire); }

  // ---- producer (the supervisor only)

  bool HasRoom() const {
    const uint64_t tail = Load(*tail_, std::memory_order_relaxed);
    return tail - head() < entries_.size;
  }

  // Publishes `ref` and returns its position. REQUIRES: HasRoom().
  uint64_t Push(SlotRef ref) {
    const uint64_t tail = Load(*tail_, std::memory_order_relaxed);
    Store(entries_.at(tail), PackRef(ref), std::memory_order_relaxed);
    Store(*tail_, tail + 1, std::memory_order_release);
    return tail;
  }

  // ---- consumers (workers)

  // Takes the next ticket; nullopt when the ring is empty.
  std::optional<SlotRef> Take() {
    uint64_t head = Load(*head_, std::memory_order_acquire);
    for (;;) {
      // Acquire on tail makes the entry written before it visible.
      const uint64_t tail = Load(*tail_, std::memory_order_acquire);
      if (head == tail) return std::nullopt;
      const uint64_t taken = Load(entries_.at(head), std::memory_order_relaxed);
      // On success the entry read above was not overwritten: the producer
      // only reuses positions behind head.
      if (Atomic(*head_).compare_exchange_weak(head, head + 1,
                                               std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
        return UnpackRef(taken);
      }
    }
  }

 private:
  uint64_t* head_;
  uint64_t* tail_;
  RingEntries entries_;
};

}  // namespace taskpool::shmq
