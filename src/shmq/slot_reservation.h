// The queue's payload area, reserved in /dev/shm a step of slots at a
// time: the supervisor's side of the rule that no process ever stores into
// a page /dev/shm has not allocated (a store into one would die of
// SIGBUS when /dev/shm is full).
//
// Why in steps: reserving the whole default segment (32 MiB) at creation
// is a posix_fallocate of 8,200 pages, about 10 ms, which doubled the
// daemon's start-up. Segment::Create now reserves the control region and
// the first step (and refuses to start unless /dev/shm has room for all of
// it); the supervisor reserves the rest one step per turn of its event
// loop right after start (ReserveNextStep), and Cover reserves any slot a
// task needs before that is done. So the whole segment is reserved within
// milliseconds of start, before systemd hears "ready", and a task never
// waits for more than one step.
//
// Slots are handed out lowest index first (the free list is a LIFO that
// starts with slot 0 on top, and a freed slot goes back on top), so the
// reserved slots are always a prefix: `reserved_slots()` of them.
//
// Thread-safety: the supervisor's event loop only, like SupervisorQueue.
#pragma once

#include <cstdint>
#include <string>

#include "base/unique_fd.h"
#include "shmq/layout.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

class SlotReservation {
 public:
  // Slots reserved per step: 1 MiB of payload area with the daemon's
  // default 64 KiB inline areas, about a millisecond of posix_fallocate.
  static constexpr uint32_t kSlotsPerStep = 8;

  // Bytes from the start of a segment laid out as `layout` that its
  // creator reserves at once: everything before the payload area, and the
  // first step of slots.
  static uint64_t InitialBytes(const ShmHeader& layout);

  // `file`: the segment's file, whose InitialBytes are reserved. `what`
  // names the queue in errors.
  SlotReservation(base::UniqueFd file, const ShmHeader& layout, std::string what);

  // Makes sure the payload area of slot `index`, and so of every slot
  // below it, is reserved. SHARED_MEMORY_FULL (saying what is needed and
  // what is free) if /dev/shm has no room for it now.
  Status Cover(uint32_t index);
  // Reserves the next step of slots, if any remain.
  Status ReserveNextStep();

  bool complete() const { return reserved_slots_ == capacity_; }
  uint32_t reserved_slots() const { return reserved_slots_; }

 private:
  // Reserves the payload areas of the slots below `end`.
  Status ReserveBelow(uint32_t end);
  uint64_t SlotOffset(uint32_t index) const {
    return payloads_offset_ + index * payload_stride_;
  }

  base::UniqueFd file_;
  uint64_t payloads_offset_;
  uint64_t payload_stride_;
  uint64_t total_bytes_;
  uint32_t capacity_;
  uint32_t reserved_slots_;
  std::string what_;
};

}  // namespace taskpool::shmq
