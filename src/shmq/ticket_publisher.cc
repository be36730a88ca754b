#include "shmq/ticket_publisher.h"

#include <algorithm>

namespace taskpool::shmq {

TicketPublisher::TicketPublisher(const Segment& segment)
    : segment_(segment),
      ring_(segment.tickets()),
      wakeup_(segment.task_wakeup()),
      positions_(segment.geometry().capacity, kNoTicket) {}

void TicketPublisher::PushToOverflow(SlotRef ref) {
  positions_[ref.index] = kNoTicket;
  overflow_.push_back(ref);
  // Withdrawn tasks leave stale entries behind; drop them so the overflow
  // stays bounded by the capacity.
  if (overflow_.size() > segment_.geometry().capacity) {
    std::erase_if(overflow_, [this](SlotRef queued) {
      return !segment_.state(queued.index).IsQueuedAt(queued.generation);
    });
  }
}

void TicketPublisher::FlushOverflow() {
  while (!overflow_.empty() && ring_.HasRoom()) {
    const SlotRef ref = overflow_.front();
    overflow_.pop_front();
    if (segment_.state(ref.index).IsQueuedAt(ref.generation)) PushToRing(ref);
  }
}

}  // namespace taskpool::shmq
