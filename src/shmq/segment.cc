#include "shmq/segment.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "shmq/shm_files.h"
#include "shmq/slot_reservation.h"

namespace taskpool::shmq {

Segment::Segment(InstanceMark mark, const QueueGeometry& geometry)
    : mark_(std::move(mark)),
      geometry_(geometry),
      creator_pid_(getpid()),
      blobs_(mark_.name()) {}

Result<std::unique_ptr<Segment>> Segment::Create(const QueueGeometry& geometry) {
  if (Status valid = ValidateGeometry(geometry); !valid.ok()) return valid;
  const ShmHeader plan = PlanLayout(geometry);
  const std::string what = DescribeQueue(geometry);
  // The mark first: its sweep frees what dead daemons hold in /dev/shm
  // before this queue asks for room. From here on, returning destroys
  // `segment`, which removes the mark again.
  Result<InstanceMark> mark = InstanceMark::Create();
  if (!mark.ok()) return mark.status();
  std::unique_ptr<Segment> segment(new Segment(std::move(mark).value(), geometry));

  // The pages of the control region and the first slots exist from here
  // on; the supervisor's SlotReservation reserves the rest before any
  // process touches it, so no store ever lands in an unbacked page
  // (SIGBUS).
  Result<base::UniqueFd> file =
      CreateAnonymousShm(plan.total_bytes, SlotReservation::InitialBytes(plan), what);
  if (!file.ok()) return file.status();
  // Fresh pages read as zeros: every slot starts FREE at generation 0,
  // every ring empty.
  void* mapping = mmap(nullptr, plan.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                       file->get(), 0);
  if (mapping == MAP_FAILED) return ErrnoStatus("map " + what, errno);
  segment->mapping_ = mapping;
  segment->mapped_bytes_ = plan.total_bytes;
  // The mapping keeps the memory, and ends it with the last process that
  // maps it; the file stays open only for the reservation (TakeFile).
  segment->file_ = std::move(file).value();

  char* base = static_cast<char*>(mapping);
  segment->header_ = reinterpret_cast<ShmHeader*>(base);
  *segment->header_ = plan;
  segment->header_->creator_pid = static_cast<uint32_t>(segment->creator_pid_);
  segment->slots_ = reinterpret_cast<ShmSlot*>(base + plan.slots_offset);
  segment->tickets_ = reinterpret_cast<uint64_t*>(base + plan.tickets_offset);
  segment->workers_ = reinterpret_cast<ShmWorker*>(base + plan.workers_offset);
  segment->completions_ = reinterpret_cast<uint64_t*>(base + plan.completions_offset);
  segment->payloads_ = base + plan.payloads_offset;

  // O_CLOEXEC like every descriptor; forked workers inherit it all the same.
  segment->results_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (segment->results_fd_ < 0) {
    return ErrnoStatus("eventfd for the queue's results", errno);
  }
  return segment;
}

Status Segment::CheckFits(const QueueGeometry& geometry) {
  if (Status valid = ValidateGeometry(geometry); !valid.ok()) return valid;
  return CheckShmRoom(PlanLayout(geometry).total_bytes, DescribeQueue(geometry));
}

Segment::~Segment() {
  if (results_fd_ >= 0) close(results_fd_);
  if (mapping_ != nullptr) munmap(mapping_, mapped_bytes_);
  if (getpid() == creator_pid_) mark_.Remove();
}

}  // namespace taskpool::shmq
