#include "shmq/segment.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>

namespace taskpool::shmq {

namespace bip = boost::interprocess;

namespace {

// Whether the shm object `name` exists; true also when it cannot be told
// (e.g. EACCES), so a caller errs on the side of cleaning up.
bool ShmObjectMayExist(const std::string& name) {
  const int fd = shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0) close(fd);
  return fd >= 0 || errno != ENOENT;
}

}  // namespace

Segment::Segment(std::string name, const QueueGeometry& geometry)
    : name_(std::move(name)),
      geometry_(geometry),
      creator_pid_(getpid()),
      blobs_(name_) {}

Result<std::unique_ptr<Segment>> Segment::Create(
    std::string name, const QueueGeometry& geometry) {
  if (Status valid = ValidateGeometry(name, geometry); !valid.ok()) {
    return valid;
  }
  RemoveStale(name);
  const ShmHeader plan = PlanLayout(geometry);

  std::unique_ptr<Segment> segment(new Segment(std::move(name), geometry));
  const std::string& shm_name = segment->name_;
  try {
    bip::shared_memory_object shm(bip::create_only, shm_name.c_str(),
                                  bip::read_write);
    // ftruncate zero-fills: every slot starts FREE at generation 0, every
    // ring empty. Pages are only backed once touched.
    shm.truncate(static_cast<bip::offset_t>(plan.total_bytes));
    segment->region_ = bip::mapped_region(shm, bip::read_write);
    // `shm` closes its descriptor here; the mapping stays.
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(shm_name.c_str());
    return Status(ErrorCode::kInternal,
                  "cannot create shared memory /" + shm_name + ": " + e.what());
  }

  char* base = static_cast<char*>(segment->region_.get_address());
  segment->header_ = reinterpret_cast<ShmHeader*>(base);
  *segment->header_ = plan;
  segment->header_->creator_pid = static_cast<uint32_t>(segment->creator_pid_);
  segment->slots_ = reinterpret_cast<ShmSlot*>(base + plan.slots_offset);
  segment->tickets_ = reinterpret_cast<uint64_t*>(base + plan.tickets_offset);
  segment->workers_ = reinterpret_cast<ShmWorker*>(base + plan.workers_offset);
  segment->completions_ =
      reinterpret_cast<uint64_t*>(base + plan.completions_offset);
  segment->payloads_ = base + plan.payloads_offset;

  // O_CLOEXEC like every descriptor; forked workers inherit it all the same.
  segment->results_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (segment->results_fd_ < 0) {
    // Returning destroys `segment`, which removes the object again.
    return ErrnoStatus("eventfd for the queue's results", errno);
  }
  return segment;
}

void Segment::RemoveStale(const std::string& name) {
  if (name.empty()) return;
  // The main object is created before any blob and removed after the
  // last one, so it marks "blobs of this queue may exist". Without it (the
  // usual start: the predecessor exited cleanly) there is nothing to find,
  // and /dev/shm, which may hold thousands of other programs' objects, is
  // not listed.
  if (!ShmObjectMayExist(name)) return;
  BlobStore::RemoveAllOf(name);
  // Last: a crash during this clean-up leaves the mark for the next start.
  bip::shared_memory_object::remove(name.c_str());
}

Segment::~Segment() {
  if (results_fd_ >= 0) close(results_fd_);
  if (getpid() != creator_pid_) return;
  region_ = bip::mapped_region();  // unmap before removing
  RemoveStale(name_);
}

}  // namespace taskpool::shmq
