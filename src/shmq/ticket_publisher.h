// The supervisor's side of the ticket ring (ticket_ring.h): it publishes
// tickets and wakes a sleeping worker for each, keeps the tickets that do
// not fit in a process-local overflow (only when stale tickets of withdrawn
// tasks fill the ring), and remembers where each slot's latest ticket went,
// so that RecoverDeadWorker can tell a ticket a dead worker took without
// claiming its slot.
//
// Thread-safety: the supervisor's thread only. Process-local state: a
// forked worker never uses its copy.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include "shmq/queue_types.h"
#include "shmq/segment.h"
#include "shmq/ticket_ring.h"
#include "shmq/wakeups.h"

namespace taskpool::shmq {

class TicketPublisher {
 public:
  // REQUIRES: `segment` outlives this.
  explicit TicketPublisher(const Segment& segment);

  // Publishes a ticket for `ref`, a slot just made QUEUED at that
  // generation: in the ring if it has room (waking a worker if one
  // sleeps), else in the overflow.
  void Push(SlotRef ref) {
    if (overflow_.empty() && ring_.HasRoom()) {
      PushToRing(ref);
    } else {
      PushToOverflow(ref);
    }
  }

  // Moves overflowed tickets into the ring while it has room, dropping
  // those whose slot is no longer QUEUED at their generation. Called before
  // each Push and each collection: workers make room as they take tickets.
  void Flush() {
    if (!overflow_.empty()) FlushOverflow();
  }

  // Whether the latest ticket pushed for slot `index` has been taken off
  // the ring, i.e. is behind `head` (TicketRing::head()). A slot still
  // QUEUED with a taken ticket was orphaned by a worker that died between
  // taking it and claiming the slot.
  bool TicketTaken(uint32_t index, uint64_t head) const {
    return positions_[index] != kNoTicket && positions_[index] < head;
  }

  // Slot `index` was freed: it has no ticket worth finding any more.
  void Forget(uint32_t index) { positions_[index] = kNoTicket; }

 private:
  static constexpr uint64_t kNoTicket = std::numeric_limits<uint64_t>::max();

  void PushToRing(SlotRef ref) {
    positions_[ref.index] = ring_.Push(ref);
    wakeup_.WakeOneIfSleeping();  // after the ticket is visible
  }
  void PushToOverflow(SlotRef ref);
  void FlushOverflow();

  const Segment& segment_;
  TicketRing ring_;
  TaskWakeup wakeup_;
  // Ring position of each slot's latest ticket; kNoTicket while it waits
  // in the overflow, or once the slot is freed.
  std::vector<uint64_t> positions_;
  // Tickets that did not fit in the ring, oldest first.
  std::deque<SlotRef> overflow_;
};

}  // namespace taskpool::shmq
