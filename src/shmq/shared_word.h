// Access to the words of the segment that another process may write
// concurrently. The shared structs hold plain integers (layout.h); each racy
// access goes through std::atomic_ref, which must be lock-free to be safe
// across processes (a lock would live in one process's memory only).
#pragma once

#include <atomic>
#include <cstdint>

namespace taskpool::shmq {

using AtomicWord = std::atomic_ref<uint64_t>;
static_assert(AtomicWord::is_always_lock_free,
              "shared words must be lock-free to be safe across processes");
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(AtomicWord::required_alignment <= alignof(uint64_t));
// The one 32-bit shared word: the futex idle workers sleep on.
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);

inline AtomicWord Atomic(uint64_t& word) { return AtomicWord(word); }
inline uint64_t Load(uint64_t& word, std::memory_order order) {
  return AtomicWord(word).load(order);
}
inline void Store(uint64_t& word, uint64_t value, std::memory_order order) {
  AtomicWord(word).store(value, order);
}

// The entries of a ring of shared words, indexed by an ever-growing
// position. REQUIRES: `size` is a power of two; `words` holds `size` words.
struct RingEntries {
  uint64_t* words;
  uint32_t size;
  uint64_t& at(uint64_t position) const { return words[position & (size - 1)]; }
};

}  // namespace taskpool::shmq
