// One queue's shared memory as this process maps it: an unnamed file in
// /dev/shm (shm_files.h: no name anyone could squat or read, nothing left
// behind by a crash) laid out as layout.h says, its control region and
// first slots reserved at creation and the rest by the supervisor's
// SlotReservation, so no store into it can fault; the results eventfd; the
// instance's mark (instance_mark.h), which names its blobs; and views of
// its parts (slot state words, the ticket ring, completion rings,
// wake-ups, blobs).
// It holds no queue logic: SupervisorQueue and WorkerQueue are the two
// views that do, one per side.
//
// The supervisor creates it (through SupervisorQueue::Create) before it
// forks any worker; a forked worker inherits the mapping, the same memory
// in both processes, and attaches a WorkerQueue to it. Nothing opens the
// segment by name.
//
// Thread-safety: immutable after Create (but for TakeFile, which the
// SupervisorQueue calls as it is made). What the views point at is shared
// memory, each part accessed by the protocol its header describes.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "base/unique_fd.h"
#include "shmq/blob_store.h"
#include "shmq/completion_ring.h"
#include "shmq/instance_mark.h"
#include "shmq/layout.h"
#include "shmq/queue_types.h"
#include "shmq/slot_state.h"
#include "shmq/ticket_ring.h"
#include "shmq/wakeups.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

class Segment {
 public:
  // Removes what crashed daemons left in /dev/shm (InstanceMark), then
  // creates, reserves and maps a fresh segment, every slot FREE and every
  // ring empty. INVALID_ARGUMENT for a bad geometry; SHARED_MEMORY_FULL,
  // saying what is needed and what is free, if /dev/shm cannot hold it;
  // INTERNAL if a file or the eventfd cannot be created.
  static Result<std::unique_ptr<Segment>> Create(const QueueGeometry& geometry);
  // What Create would refuse for `geometry` without creating anything:
  // a bad geometry, or a /dev/shm without room for it now (--test-config).
  static Status CheckFits(const QueueGeometry& geometry);

  // Unmaps and closes the eventfd. In the creating process (by pid) also
  // removes the remaining blobs and the mark; a forked worker destroying
  // its copy removes nothing.
  ~Segment();

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // The instance mark's name in /dev/shm, the prefix of the blobs' names.
  const std::string& name() const { return mark_.name(); }
  // Bytes of the mapping.
  uint64_t mapped_bytes() const { return mapped_bytes_; }
  // The segment's file, for the supervisor's SlotReservation; empty after
  // the first call. The mapping does not need it.
  base::UniqueFd TakeFile() { return std::move(file_); }
  const QueueGeometry& geometry() const { return geometry_; }
  ShmHeader& header() const { return *header_; }
  int results_fd() const { return results_fd_; }

  ShmSlot& slot(uint32_t index) const { return slots_[index]; }
  SlotStateWord state(uint32_t index) const {
    return SlotStateWord(slots_[index].state);
  }
  char* input_area(uint32_t index) const {
    return payloads_ + index * header_->payload_stride;
  }
  // Where slot `index`'s input of `bytes` (at most inline_bytes) lives:
  // inside the slot when it fits there, else in its inline area.
  char* inline_input(uint32_t index, uint64_t bytes) const {
    return bytes <= kSlotInputBytes ? slots_[index].small_input : input_area(index);
  }
  char* output_area(uint32_t index) const {
    return input_area(index) + geometry_.inline_bytes;
  }
  ShmWorker& worker(uint32_t worker) const { return workers_[worker]; }

  TicketRing tickets() const {
    return TicketRing(header_->ticket_head, header_->ticket_tail, tickets_,
                      header_->ticket_ring_size);
  }
  CompletionRing completions(uint32_t worker) const {
    ShmWorker& record = workers_[worker];
    return CompletionRing(
        record.completion_tail, record.completion_head,
        completions_ + uint64_t{worker} * header_->completion_ring_size,
        header_->completion_ring_size);
  }
  TaskWakeup task_wakeup() const {
    return TaskWakeup(header_->sleeping_workers, header_->task_wake);
  }
  ResultsSignal results() const {
    return ResultsSignal(header_->results_signalled, results_fd_);
  }
  const BlobStore& blobs() const { return blobs_; }

 private:
  Segment(InstanceMark mark, const QueueGeometry& geometry);

  InstanceMark mark_;
  const QueueGeometry geometry_;
  const pid_t creator_pid_;
  const BlobStore blobs_;
  void* mapping_ = nullptr;
  uint64_t mapped_bytes_ = 0;
  base::UniqueFd file_;  // until TakeFile
  int results_fd_ = -1;  // counter eventfd: "completion rings have entries"

  // Views into the mapping, found by the header's offsets.
  ShmHeader* header_ = nullptr;
  ShmSlot* slots_ = nullptr;
  uint64_t* tickets_ = nullptr;
  ShmWorker* workers_ = nullptr;
  uint64_t* completions_ = nullptr;
  char* payloads_ = nullptr;
};

}  // namespace taskpool::shmq
