#include "shmq/slot_reservation.h"

#include <algorithm>
#include <utility>

#include "shmq/shm_files.h"

namespace taskpool::shmq {

uint64_t SlotReservation::InitialBytes(const ShmHeader& layout) {
  const uint64_t first_step = std::min(layout.capacity, kSlotsPerStep);
  return std::min(layout.total_bytes,
                  layout.payloads_offset + first_step * layout.payload_stride);
}

SlotReservation::SlotReservation(base::UniqueFd file, const ShmHeader& layout,
                                 std::string what)
    : file_(std::move(file)),
      payloads_offset_(layout.payloads_offset),
      payload_stride_(layout.payload_stride),
      total_bytes_(layout.total_bytes),
      capacity_(layout.capacity),
      reserved_slots_(std::min(layout.capacity, kSlotsPerStep)),
      what_(std::move(what)) {}

Status SlotReservation::Cover(uint32_t index) {
  if (index < reserved_slots_) return Status::Ok();
  // A whole step at least, so a deep queue does not reserve slot by slot.
  return ReserveBelow(std::max(index + 1, std::min(capacity_, reserved_slots_ + kSlotsPerStep)));
}

Status SlotReservation::ReserveNextStep() {
  if (complete()) return Status::Ok();
  return ReserveBelow(std::min(capacity_, reserved_slots_ + kSlotsPerStep));
}

Status SlotReservation::ReserveBelow(uint32_t end) {
  const uint64_t from = SlotOffset(reserved_slots_);
  // The last step takes the segment's tail too, so all of it is reserved.
  const uint64_t to = end == capacity_ ? total_bytes_ : SlotOffset(end);
  const std::string slots = "slots " + std::to_string(reserved_slots_) + " to " +
                            std::to_string(end - 1) + " of " + what_;
  if (Status reserved = ReserveShm(file_.get(), from, to - from, slots); !reserved.ok()) {
    return reserved;
  }
  reserved_slots_ = end;
  return Status::Ok();
}

}  // namespace taskpool::shmq
