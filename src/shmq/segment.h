// One queue's shared memory as this process maps it: the POSIX shm object
// laid out as layout.h says, the results eventfd, and views of its parts
// (slot state words, the ticket ring, completion rings, wake-ups, blobs).
// It holds no queue logic: SupervisorQueue and WorkerQueue are the two
// views that do, one per side.
//
// The supervisor creates it (through SupervisorQueue::Create) before it
// forks any worker; a forked worker uses the same object, whose mapping is
// the same memory in both processes, to attach a WorkerQueue.
//
// Thread-safety: immutable after Create. What the views point at is shared
// memory, each part accessed by the protocol its header describes.
#pragma once

#include <sys/types.h>

#include <boost/interprocess/mapped_region.hpp>
#include <memory>
#include <string>

#include "shmq/blob_store.h"
#include "shmq/completion_ring.h"
#include "shmq/layout.h"
#include "shmq/queue_types.h"
#include "shmq/slot_state.h"
#include "shmq/ticket_ring.h"
#include "shmq/wakeups.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

class Segment {
 public:
  // Removes a stale object of that name (left by a crashed daemon), with
  // its blobs, and creates, sizes and maps a fresh one, every slot FREE and
  // every ring empty. `name` is a POSIX shm name without the leading
  // slash. INVALID_ARGUMENT for a bad name or geometry, INTERNAL if the
  // object or the eventfd cannot be created.
  static Result<std::unique_ptr<Segment>> Create(std::string name,
                                                 const QueueGeometry& geometry);

  // Removes the named object's blobs, then the object itself. No-op if the
  // object is absent: it outlives its blobs, so then none can be left (and
  // /dev/shm is not listed).
  static void RemoveStale(const std::string& name);

  // Unmaps and closes the eventfd. In the creating process (by pid) also
  // removes the object and any remaining blobs; a forked worker destroying
  // its copy removes nothing.
  ~Segment();

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const std::string& name() const { return name_; }
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
  Segment(std::string name, const QueueGeometry& geometry);

  const std::string name_;
  const QueueGeometry geometry_;
  const pid_t creator_pid_;
  const BlobStore blobs_;
  boost::interprocess::mapped_region region_;
  int results_fd_ = -1;  // counter eventfd: "completion rings have entries"

  // Views into region_, found by the header's offsets.
  ShmHeader* header_ = nullptr;
  ShmSlot* slots_ = nullptr;
  uint64_t* tickets_ = nullptr;
  ShmWorker* workers_ = nullptr;
  uint64_t* completions_ = nullptr;
  char* payloads_ = nullptr;
};

}  // namespace taskpool::shmq
