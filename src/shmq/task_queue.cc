#include "shmq/task_queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <limits>
#include <type_traits>
#include <unordered_map>

// The shared-memory layout is documented in common/task_queue.md; keep the
// two in step (and bump kAbiVersion on any change).

namespace taskpool::shmq {
namespace {

namespace bip = boost::interprocess;

constexpr uint64_t kMagic = 0x4C4F4F504B534154;  // "TASKPOOL", little-endian
constexpr uint32_t kAbiVersion = 4;
constexpr size_t kCacheLine = 64;

// ------------------------------------------------------------ atomics

// Shared structs hold plain integers (so they stay trivially copyable, with
// a layout fixed by the ABI) and every access that can race goes through
// std::atomic_ref.
using AtomicWord = std::atomic_ref<uint64_t>;
static_assert(AtomicWord::is_always_lock_free,
              "shared words must be lock-free to be safe across processes");
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(AtomicWord::required_alignment <= alignof(uint64_t));
// The one 32-bit shared word: the futex idle workers sleep on.
static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);

AtomicWord Atomic(uint64_t& word) { return AtomicWord(word); }
uint64_t Load(uint64_t& word, std::memory_order order) {
  return AtomicWord(word).load(order);
}
void Store(uint64_t& word, uint64_t value, std::memory_order order) {
  AtomicWord(word).store(value, order);
}

// ------------------------------------------------------------ state word

// Slot state word: generation (bits 63..32) | unused (31..24) |
// state (23..16) | owner worker (15..0, meaningful in RUNNING and DONE).
enum class SlotState : uint8_t {
  kFree = 0,
  kQueued = 1,
  kRunning = 2,
  kDone = 3
};

constexpr uint64_t PackState(uint32_t generation, SlotState state,
                             uint32_t owner) {
  return (uint64_t{generation} << 32) |
         (uint64_t{static_cast<uint8_t>(state)} << 16) | (owner & 0xFFFFu);
}
constexpr uint32_t GenerationOf(uint64_t word) {
  return static_cast<uint32_t>(word >> 32);
}
constexpr SlotState StateOf(uint64_t word) {
  return static_cast<SlotState>((word >> 16) & 0xFF);
}
constexpr uint32_t OwnerOf(uint64_t word) {
  return static_cast<uint32_t>(word & 0xFFFF);
}

// Tickets and completion entries name a slot at one generation.
constexpr uint64_t PackRef(SlotRef ref) {
  return (uint64_t{ref.generation} << 32) | ref.index;
}
constexpr SlotRef UnpackRef(uint64_t word) {
  return SlotRef{static_cast<uint32_t>(word),
                 static_cast<uint32_t>(word >> 32)};
}

// ------------------------------------------------------------ shm structs

// Written once by the supervisor in Create, before any worker exists; the
// two ring counters live on their own cache lines.
struct ShmHeader {
  uint64_t magic;
  uint32_t abi_version;
  uint32_t header_bytes;  // sizeof(ShmHeader)
  uint32_t slot_bytes;    // sizeof(ShmSlot)
  uint32_t worker_bytes;  // sizeof(ShmWorker)
  uint32_t capacity;
  uint32_t max_workers;
  uint32_t inline_bytes;
  uint32_t ticket_ring_size;      // power of two, >= 2 * capacity
  uint32_t completion_ring_size;  // power of two, >= capacity
  uint32_t creator_pid;
  uint64_t max_payload_bytes;
  uint64_t payload_stride;  // bytes per slot in the payload area
  uint64_t slots_offset;
  uint64_t tickets_offset;
  uint64_t workers_offset;
  uint64_t completions_offset;
  uint64_t payloads_offset;
  uint64_t total_bytes;
  // Next ticket to take. Workers advance it by CAS; the supervisor reads it.
  alignas(kCacheLine) uint64_t ticket_head;
  // Next ticket position to write. Written by the supervisor only (release
  // after the entry); workers read it (acquire).
  alignas(kCacheLine) uint64_t ticket_tail;
  // Workers that are (about to be) asleep on `task_wake`. A worker adds 1
  // before its last look at the ring and subtracts 1 after waking; the
  // supervisor wakes one only while it is non-zero. It may over-count (a
  // worker that died in between: only costs a spare wake), never
  // under-count, which would leave a task unclaimed.
  alignas(kCacheLine) uint64_t sleeping_workers;
  // The futex idle workers sleep on: the supervisor bumps it, then wakes
  // one waiter, per ticket pushed while someone sleeps. 32 bits because a
  // futex is; accessed through std::atomic_ref<uint32_t>.
  uint32_t task_wake;
  uint32_t reserved_task_wake;
  // 1 once a worker has written the results eventfd since the supervisor's
  // last CollectCompleted; later completions skip the write(). Workers set
  // it (exchange), the supervisor clears it after reading the eventfd.
  alignas(kCacheLine) uint64_t results_signalled;
};

struct alignas(kCacheLine) ShmSlot {
  // Packed (generation, state, owner). Transitions:
  //   supervisor: FREE->QUEUED, QUEUED->FREE (withdraw), DONE->FREE
  //               (collect), RUNNING(dead w)->QUEUED/FREE (requeue/release);
  //   worker w:   QUEUED->RUNNING(w) (CAS), RUNNING(w)->DONE(w) (CAS).
  uint64_t state;
  // The task. Written by the supervisor while it owns the slot (FREE or
  // RUNNING of a dead worker), before the release store of QUEUED; read by
  // the worker after its acquiring CAS.
  uint32_t function_index;
  uint32_t attempt;
  uint64_t input_bytes;
  uint32_t input_in_blob;          // 1: input is in "<name>.in.<i>.<g>"
  uint32_t input_blob_generation;  // <g> of that blob (kept by Requeue)
  int64_t enqueued_ns;
  // When the task must be done, for Context::deadline(): the submission's
  // deadline as CLOCK_REALTIME microseconds (0: none) and its running-time
  // limit (0: none), which the worker adds to its start. Supervisor, with
  // the fields above.
  int64_t deadline_unix_us;
  int64_t timeout_us;
  // 1: the input is a chunk of items (v1::ChunkPayload) for the worker to
  // run one by one; the queue itself treats it like any input.
  uint64_t chunk;
  // 1 once the supervisor asks the running task to stop early (a cancel
  // without kill, its client gone, shutdown); the worker polls it. Written
  // by the supervisor: 0 before publishing QUEUED, 1 while RUNNING (a
  // store that lands after the worker's DONE is harmless: the next
  // Enqueue/Requeue clears it before anyone reads it again).
  uint64_t cancel_requested;
  // The outcome. Written by the claiming worker while RUNNING, before the
  // release CAS to DONE; read by the supervisor after an acquire load.
  int32_t worker_pid;
  int32_t result_code;
  uint64_t output_bytes;
  uint32_t output_in_blob;  // 1: output is in "<name>.out.<i>.<generation>"
  uint32_t reserved;
  int64_t started_ns;
  int64_t finished_ns;
  int64_t started_unix_us;
  int64_t finished_unix_us;
};

struct alignas(kCacheLine) ShmWorker {
  // Activity: written by this worker only (AttachWorker, claim, Complete);
  // and by the supervisor in RecoverDeadWorker, once the worker is reaped.
  // Supervisor reads are advisory (fields are not read as one snapshot).
  uint64_t pid;
  uint64_t busy;
  uint64_t function_index;
  uint64_t started_ns;
  uint64_t tasks_done;
  // 1 while this worker counts itself in ShmHeader::sleeping_workers (set
  // after its increment, cleared before its decrement), so RecoverDeadWorker
  // can take back exactly a dead worker's share. Written by the worker, and
  // by the supervisor once the worker is reaped.
  uint64_t sleeping;
  // Completion ring producer index: written by the worker (release, after
  // the entry), read by the supervisor. Survives respawns of the index.
  alignas(kCacheLine) uint64_t completion_tail;
  // Completion ring consumer index: supervisor only.
  alignas(kCacheLine) uint64_t completion_head;
};

static_assert(std::is_trivially_copyable_v<ShmHeader>);
static_assert(std::is_trivially_copyable_v<ShmSlot>);
static_assert(std::is_trivially_copyable_v<ShmWorker>);
// Pinned by ABI version 3 (common/task_queue.md).
static_assert(sizeof(ShmSlot) == 128);
static_assert(sizeof(ShmWorker) == 192);

// ------------------------------------------------------------ helpers

int64_t NowNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t MonotonicNs() { return NowNs(CLOCK_MONOTONIC); }
int64_t UnixUs() { return NowNs(CLOCK_REALTIME) / 1000; }

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::string InputBlobName(const std::string& name, uint32_t index,
                          uint32_t generation) {
  return name + ".in." + std::to_string(index) + "." +
         std::to_string(generation);
}
std::string OutputBlobName(const std::string& name, uint32_t index,
                           uint32_t generation) {
  return name + ".out." + std::to_string(index) + "." +
         std::to_string(generation);
}

std::string TooLargeMessage(std::string_view what, uint64_t size,
                            uint64_t limit) {
  return std::string(what) + " of " + std::to_string(size) +
         " bytes exceeds the limit of " + std::to_string(limit) + " bytes";
}

// Writes `bytes` into a new shm object `blob_name` (replacing any leftover)
// and closes it; the reader maps it by name. The object is never held open,
// so no descriptor leaks into forked children. write() rather than
// mmap+memcpy: tmpfs then fills each page in one pass, where a fresh
// mapping takes a page fault and a zero-fill per 4 KiB before the copy.
Status WriteBlob(const std::string& blob_name, std::string_view bytes) {
  try {
    bip::shared_memory_object::remove(blob_name.c_str());
    bip::shared_memory_object blob(bip::create_only, blob_name.c_str(),
                                   bip::read_write);
    const int fd = blob.get_mapping_handle().handle;
    size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : ENOSPC;
        bip::shared_memory_object::remove(blob_name.c_str());
        return ErrnoStatus("write blob " + blob_name, error);
      }
      written += static_cast<size_t>(n);
    }
    return Status::Ok();
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(blob_name.c_str());
    return Status(ErrorCode::kInternal,
                  "cannot write blob " + blob_name + ": " + e.what());
  }
}

// Maps blob `blob_name` read-only; `expected_bytes` guards against a
// truncated object. MAP_POPULATE maps every page in the one mmap call
// instead of one page fault per 4 KiB on first read.
Result<bip::mapped_region> MapBlob(const std::string& blob_name,
                                   uint64_t expected_bytes) {
  try {
    bip::shared_memory_object blob(bip::open_only, blob_name.c_str(),
                                   bip::read_only);
    bip::offset_t size = 0;
    if (!blob.get_size(size) || static_cast<uint64_t>(size) < expected_bytes) {
      return Status(ErrorCode::kInternal, "blob " + blob_name + " is short");
    }
    return bip::mapped_region(blob, bip::read_only, 0, expected_bytes, nullptr,
                              MAP_POPULATE);
  } catch (const bip::interprocess_exception& e) {
    return Status(ErrorCode::kInternal,
                  "cannot map blob " + blob_name + ": " + e.what());
  }
}

void RemoveBlob(const std::string& blob_name) {
  bip::shared_memory_object::remove(blob_name.c_str());
}

uint32_t RingSizeAtLeast(uint64_t entries) {
  return static_cast<uint32_t>(std::bit_ceil(std::max<uint64_t>(entries, 2)));
}

}  // namespace

// ============================================================ Impl

struct TaskQueue::Impl {
  std::string name;
  QueueGeometry geometry;
  pid_t creator_pid = 0;
  bip::mapped_region region;
  int results_fd = -1;  // counter eventfd: "completion rings have entries"

  // Views into `region`.
  ShmHeader* header = nullptr;
  ShmSlot* slots = nullptr;
  uint64_t* tickets = nullptr;
  ShmWorker* workers = nullptr;
  uint64_t* completions = nullptr;
  char* payloads = nullptr;

  // ---- supervisor-local state (meaningless in a forked worker)
  // Free slots, LIFO so a new task reuses recently touched pages.
  std::vector<uint32_t> free_slots;
  // Ring position of each slot's latest ticket, to find tickets a dead
  // worker took without claiming; kNoTicket while it waits in overflow.
  static constexpr uint64_t kNoTicket = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> ticket_position;
  // Tickets that did not fit in the ring (only when stale tickets fill it).
  std::deque<SlotRef> overflow_tickets;
  struct LateCompletion {
    SlotRef slot;
    uint32_t worker;
  };
  // DONE slots of dead workers that may be missing from their completion
  // rings; delivered after the rings so each slot is delivered once.
  std::vector<LateCompletion> late_completions;

  // ---- worker-local state
  // Input blobs mapped for claimed tasks, by slot index, until Complete.
  std::unordered_map<uint32_t, bip::mapped_region> input_blobs;
  internal::TestCrashPoint crash_point = internal::TestCrashPoint::kNone;

  ~Impl() {
    if (results_fd >= 0) close(results_fd);
  }

  // ---------------------------------------------------------- addressing
  ShmSlot& slot(uint32_t index) { return slots[index]; }
  AtomicWord state(uint32_t index) { return Atomic(slots[index].state); }
  char* input_area(uint32_t index) {
    return payloads + index * header->payload_stride;
  }
  char* output_area(uint32_t index) {
    return input_area(index) + geometry.inline_bytes;
  }
  uint64_t& completion_entry(uint32_t worker, uint64_t position) {
    return completions[uint64_t{worker} * header->completion_ring_size +
                       (position & (header->completion_ring_size - 1))];
  }
  uint64_t& ticket_entry(uint64_t position) {
    return tickets[position & (header->ticket_ring_size - 1)];
  }

  void CrashIfAt(internal::TestCrashPoint point) {
    if (crash_point == point) _exit(0);
  }

  // ---------------------------------------------------------- wake-ups
  // Bumps the futex word and wakes one sleeping worker. A futex (not a
  // semaphore eventfd) because it wakes exactly one waiter: every blocked
  // reader of an eventfd wakes on each write, so with N idle workers a task
  // cost N wake-ups. A waiter that dies simply leaves the futex queue.
  void WakeOneWorker() {
    std::atomic_ref<uint32_t>(header->task_wake)
        .fetch_add(1, std::memory_order_seq_cst);
    syscall(SYS_futex, &header->task_wake, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  }
  // A wake-up only helps a worker that is asleep (or about to sleep);
  // busy workers look at the ring before they sleep. Called after the
  // ticket is published: with the fences, either the supervisor sees the
  // sleeper's count or the sleeper's last look sees the ticket (Dekker).
  void WakeSleepingWorker() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (Load(header->sleeping_workers, std::memory_order_relaxed) != 0) {
      WakeOneWorker();
    }
  }
  void SignalResults() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(results_fd, &one, sizeof one);
  }
  // Worker side, after publishing a completion: one write() per collection
  // round is enough, the supervisor drains every ring when it wakes. A
  // worker killed between the exchange and the write leaves the flag set
  // without a wake-up; RecoverDeadWorker signals for it.
  void SignalResultsOnce() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (Atomic(header->results_signalled)
            .exchange(1, std::memory_order_seq_cst) == 0) {
      CrashIfAt(internal::TestCrashPoint::kAfterResultsFlagged);
      SignalResults();
    }
  }

  // ---------------------------------------------------------- tickets
  bool IsQueuedAt(SlotRef ref) {
    return state(ref.index).load(std::memory_order_acquire) ==
           PackState(ref.generation, SlotState::kQueued, 0);
  }

  bool TicketRingHasRoom() {
    const uint64_t head = Load(header->ticket_head, std::memory_order_acquire);
    const uint64_t tail = Load(header->ticket_tail, std::memory_order_relaxed);
    return tail - head < header->ticket_ring_size;
  }

  // Single producer: write the entry, then publish it by moving tail.
  void PushTicketToRing(SlotRef ref) {
    const uint64_t tail = Load(header->ticket_tail, std::memory_order_relaxed);
    Store(ticket_entry(tail), PackRef(ref), std::memory_order_relaxed);
    Store(header->ticket_tail, tail + 1, std::memory_order_release);
    ticket_position[ref.index] = tail;
    WakeSleepingWorker();  // after the ticket is visible
  }

  void PushTicket(SlotRef ref) {
    if (overflow_tickets.empty() && TicketRingHasRoom()) {
      PushTicketToRing(ref);
      return;
    }
    ticket_position[ref.index] = kNoTicket;
    overflow_tickets.push_back(ref);
    // Withdrawn tasks leave stale entries behind; drop them so the overflow
    // stays bounded by the capacity.
    if (overflow_tickets.size() > geometry.capacity) {
      std::erase_if(overflow_tickets,
                    [this](SlotRef queued) { return !IsQueuedAt(queued); });
    }
  }

  void FlushOverflowTickets() {
    while (!overflow_tickets.empty() && TicketRingHasRoom()) {
      const SlotRef ref = overflow_tickets.front();
      overflow_tickets.pop_front();
      if (IsQueuedAt(ref)) PushTicketToRing(ref);
    }
  }

  // ---------------------------------------------------------- slot life
  // Makes a slot (whose fields the supervisor has written) claimable.
  SlotRef Publish(uint32_t index, uint32_t generation) {
    state(index).store(PackState(generation, SlotState::kQueued, 0),
                       std::memory_order_release);
    const SlotRef ref{index, generation};
    PushTicket(ref);
    return ref;
  }

  // Returns a slot the supervisor owns to the free list, removing its
  // blobs. The generation is kept and bumped on the next allocation.
  void FreeSlot(uint32_t index, uint32_t generation, bool remove_output_blob) {
    ShmSlot& s = slot(index);
    if (s.input_in_blob) {
      RemoveBlob(InputBlobName(name, index, s.input_blob_generation));
      s.input_in_blob = 0;
    }
    if (remove_output_blob) RemoveBlob(OutputBlobName(name, index, generation));
    state(index).store(PackState(generation, SlotState::kFree, 0),
                       std::memory_order_release);
    ticket_position[index] = kNoTicket;
    free_slots.push_back(index);
  }

  Status WriteInput(uint32_t index, uint32_t generation,
                    std::string_view input) {
    ShmSlot& s = slot(index);
    s.input_bytes = input.size();
    if (input.size() <= geometry.inline_bytes) {
      std::memcpy(input_area(index), input.data(), input.size());
      s.input_in_blob = 0;
      return Status::Ok();
    }
    Status written = WriteBlob(InputBlobName(name, index, generation), input);
    if (!written.ok()) return written;
    s.input_in_blob = 1;
    s.input_blob_generation = generation;
    return Status::Ok();
  }

  // ---------------------------------------------------------- delivery
  // Delivers `ref` if it is still DONE by `worker` at that generation (it
  // may have been delivered already through the other path), then frees it.
  bool DeliverIfDone(SlotRef ref, uint32_t worker,
                     const std::function<void(const CompletedTask&)>& on_done) {
    const uint64_t done = PackState(ref.generation, SlotState::kDone, worker);
    if (ref.index >= geometry.capacity ||
        state(ref.index).load(std::memory_order_acquire) != done) {
      return false;
    }
    const ShmSlot& s = slot(ref.index);
    CompletedTask task;
    task.slot = ref;
    task.worker = worker;
    task.worker_pid = s.worker_pid;
    task.code = static_cast<ErrorCode>(s.result_code);
    task.enqueued_ns = s.enqueued_ns;
    task.started_ns = s.started_ns;
    task.finished_ns = s.finished_ns;
    task.started_unix_us = s.started_unix_us;
    task.finished_unix_us = s.finished_unix_us;

    std::optional<bip::mapped_region> output_blob;
    std::string blob_error;
    if (s.output_in_blob) {
      auto mapped = MapBlob(OutputBlobName(name, ref.index, ref.generation),
                            s.output_bytes);
      if (mapped.ok()) {
        output_blob.emplace(std::move(mapped).value());
        task.output = std::string_view(
            static_cast<const char*>(output_blob->get_address()),
            s.output_bytes);
      } else {
        blob_error = mapped.status().message();
        task.code = ErrorCode::kInternal;
        task.output = blob_error;
      }
    } else {
      task.output = std::string_view(output_area(ref.index), s.output_bytes);
    }
    on_done(task);
    output_blob.reset();
    // DONE was published after output_in_blob, so the flag is exact here:
    // an inline output has no blob, and skipping the remove saves a failing
    // shm_unlink() (and a name built for it) on every small task.
    FreeSlot(ref.index, ref.generation,
             /*remove_output_blob=*/s.output_in_blob != 0);
    return true;
  }

  size_t DrainCompletionRing(
      uint32_t worker,
      const std::function<void(const CompletedTask&)>& on_done) {
    ShmWorker& record = workers[worker];
    const uint64_t tail =
        Load(record.completion_tail, std::memory_order_acquire);
    uint64_t head = record.completion_head;
    size_t delivered = 0;
    for (; head != tail; ++head) {
      const SlotRef ref = UnpackRef(
          Load(completion_entry(worker, head), std::memory_order_relaxed));
      if (DeliverIfDone(ref, worker, on_done)) ++delivered;
    }
    record.completion_head = head;
    return delivered;
  }

  // ---------------------------------------------------------- worker side
  // Takes the next ticket off the shared ring; nullopt when it is empty.
  std::optional<SlotRef> TakeTicket() {
    uint64_t head = Load(header->ticket_head, std::memory_order_acquire);
    for (;;) {
      // Acquire on tail makes the entry written before it visible.
      const uint64_t tail =
          Load(header->ticket_tail, std::memory_order_acquire);
      if (head == tail) return std::nullopt;
      const uint64_t entry =
          Load(ticket_entry(head), std::memory_order_relaxed);
      // On success the entry read above was not overwritten: the
      // supervisor only reuses positions behind head.
      if (Atomic(header->ticket_head)
              .compare_exchange_weak(head, head + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        return UnpackRef(entry);
      }
    }
  }

  std::optional<ClaimedTask> ClaimSlot(uint32_t worker, SlotRef ref) {
    if (ref.index >= geometry.capacity) return std::nullopt;
    uint64_t expected = PackState(ref.generation, SlotState::kQueued, 0);
    if (!state(ref.index).compare_exchange_strong(
            expected, PackState(ref.generation, SlotState::kRunning, worker),
            std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return std::nullopt;  // stale ticket: withdrawn, reused or duplicate
    }
    ShmSlot& s = slot(ref.index);
    s.worker_pid = static_cast<int32_t>(workers[worker].pid);
    s.started_ns = MonotonicNs();
    s.started_unix_us = UnixUs();

    ClaimedTask task;
    task.slot = ref;
    task.function_index = s.function_index;
    task.attempt = s.attempt;
    task.deadline_unix_us = s.deadline_unix_us;
    task.limits = {s.deadline_unix_us, s.timeout_us};
    task.chunk = s.chunk != 0;
    if (s.timeout_us != 0) {
      const int64_t timeout_end = s.started_unix_us + s.timeout_us;
      if (task.deadline_unix_us == 0 || timeout_end < task.deadline_unix_us) {
        task.deadline_unix_us = timeout_end;
      }
    }
    if (s.input_in_blob) {
      auto mapped =
          MapBlob(InputBlobName(name, ref.index, s.input_blob_generation),
                  s.input_bytes);
      if (!mapped.ok()) {
        // The task is ours now; fail it rather than leave it RUNNING.
        Fail(worker, task, mapped.status());
        return std::nullopt;
      }
      auto& region = input_blobs[ref.index] = std::move(mapped).value();
      task.input = std::string_view(
          static_cast<const char*>(region.get_address()), s.input_bytes);
    } else {
      task.input = std::string_view(input_area(ref.index), s.input_bytes);
    }

    ShmWorker& record = workers[worker];
    Store(record.function_index, task.function_index,
          std::memory_order_relaxed);
    Store(record.started_ns, static_cast<uint64_t>(s.started_ns),
          std::memory_order_relaxed);
    Store(record.busy, 1, std::memory_order_release);
    return task;
  }

  void Fail(uint32_t worker, const ClaimedTask& task, const Status& status) {
    Finish(worker, task, status.code(), status.message());
  }

  // Writes the output where the supervisor will look for it (inline, or a
  // blob this worker creates).
  Status WriteOutput(SlotRef ref, std::string_view output) {
    ShmSlot& s = slot(ref.index);
    s.output_bytes = output.size();
    if (output.size() <= geometry.inline_bytes) {
      std::memcpy(output_area(ref.index), output.data(), output.size());
      s.output_in_blob = 0;
      return Status::Ok();
    }
    Status written =
        WriteBlob(OutputBlobName(name, ref.index, ref.generation), output);
    s.output_in_blob = written.ok() ? 1 : 0;
    return written;
  }

  void Finish(uint32_t worker, const ClaimedTask& task, ErrorCode code,
              std::string_view output, uint32_t tasks_done = 1) {
    PublishResult(worker, task.slot, code, output, tasks_done);
    // Only now: `output` may point into the task's input blob (an echo).
    input_blobs.erase(task.slot.index);
  }

  void PublishResult(uint32_t worker, SlotRef ref, ErrorCode code,
                     std::string_view output, uint32_t tasks_done) {
    ShmSlot& s = slot(ref.index);

    std::string replacement;
    if (output.size() > geometry.max_payload_bytes) {
      code = ErrorCode::kPayloadTooLarge;
      replacement =
          TooLargeMessage("output", output.size(), geometry.max_payload_bytes);
      output = replacement;
    }
    if (Status written = WriteOutput(ref, output); !written.ok()) {
      code = written.code();
      replacement = written.message();
      // Cut to the inline area, it is a memcpy that cannot fail.
      WriteOutput(ref, replacement.substr(0, geometry.inline_bytes)).IgnoreError();
    }
    s.result_code = static_cast<int32_t>(code);
    s.finished_ns = MonotonicNs();
    s.finished_unix_us = UnixUs();

    // Activity first, so it is current once the supervisor sees DONE.
    ShmWorker& record = workers[worker];
    Store(record.busy, 0, std::memory_order_relaxed);
    Store(record.tasks_done,
          Load(record.tasks_done, std::memory_order_relaxed) + tasks_done,
          std::memory_order_relaxed);

    // CAS rather than store: if the supervisor took the slot away (a
    // misuse of Release), the result is dropped instead of corrupting it.
    uint64_t running = PackState(ref.generation, SlotState::kRunning, worker);
    if (!state(ref.index).compare_exchange_strong(
            running, PackState(ref.generation, SlotState::kDone, worker),
            std::memory_order_acq_rel, std::memory_order_relaxed)) {
      if (s.output_in_blob) {
        RemoveBlob(OutputBlobName(name, ref.index, ref.generation));
      }
      return;
    }
    CrashIfAt(internal::TestCrashPoint::kAfterDonePublished);

    const uint64_t tail =
        Load(record.completion_tail, std::memory_order_relaxed);
    Store(completion_entry(worker, tail), PackRef(ref),
          std::memory_order_relaxed);
    Store(record.completion_tail, tail + 1, std::memory_order_release);
    SignalResultsOnce();
  }
};

// ============================================================ lifecycle

namespace {

Status ValidateGeometry(const std::string& name, const QueueGeometry& g) {
  if (name.empty() || name.find('/') != std::string::npos ||
      name.size() > 200) {
    return Status(ErrorCode::kInvalidArgument,
                  "bad shm name '" + name +
                      "' (1..200 characters, no '/', no leading slash)");
  }
  if (g.capacity == 0 || g.capacity > (1u << 30)) {
    return Status(ErrorCode::kInvalidArgument,
                  "queue capacity must be 1..2^30");
  }
  if (g.max_workers == 0 || g.max_workers > 0xFFFF) {
    return Status(ErrorCode::kInvalidArgument, "max_workers must be 1..65535");
  }
  if (g.inline_bytes == 0) {
    return Status(ErrorCode::kInvalidArgument, "inline_bytes must be > 0");
  }
  return Status::Ok();
}

// Computes every offset of the layout into `h` (geometry fields included).
void PlanLayout(const QueueGeometry& g, ShmHeader* h) {
  h->magic = kMagic;
  h->abi_version = kAbiVersion;
  h->header_bytes = sizeof(ShmHeader);
  h->slot_bytes = sizeof(ShmSlot);
  h->worker_bytes = sizeof(ShmWorker);
  h->capacity = g.capacity;
  h->max_workers = g.max_workers;
  h->inline_bytes = g.inline_bytes;
  h->max_payload_bytes = g.max_payload_bytes;
  // Room for every live ticket plus as many stale ones (withdrawn tasks,
  // duplicates re-pushed after a worker death) before overflow kicks in.
  h->ticket_ring_size = RingSizeAtLeast(uint64_t{2} * g.capacity);
  // At most `capacity` slots can be DONE and uncollected, so it never fills.
  h->completion_ring_size = RingSizeAtLeast(g.capacity);
  h->payload_stride = AlignUp(uint64_t{2} * g.inline_bytes, kCacheLine);

  uint64_t offset = AlignUp(sizeof(ShmHeader), kCacheLine);
  h->slots_offset = offset;
  offset += uint64_t{g.capacity} * sizeof(ShmSlot);
  h->tickets_offset = AlignUp(offset, kCacheLine);
  offset = h->tickets_offset + uint64_t{h->ticket_ring_size} * 8;
  h->workers_offset = AlignUp(offset, kCacheLine);
  offset = h->workers_offset + uint64_t{g.max_workers} * sizeof(ShmWorker);
  h->completions_offset = AlignUp(offset, kCacheLine);
  offset = h->completions_offset +
           uint64_t{g.max_workers} * h->completion_ring_size * 8;
  // Page-aligned so each slot's payload pages are touched only when used.
  h->payloads_offset = AlignUp(offset, 4096);
  h->total_bytes =
      h->payloads_offset + uint64_t{g.capacity} * h->payload_stride;
}

}  // namespace

TaskQueue::TaskQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<TaskQueue>> TaskQueue::Create(
    std::string name, const QueueGeometry& geometry) {
  if (Status valid = ValidateGeometry(name, geometry); !valid.ok()) {
    return valid;
  }
  RemoveStale(name);

  ShmHeader plan{};
  PlanLayout(geometry, &plan);

  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->geometry = geometry;
  impl->creator_pid = getpid();
  try {
    bip::shared_memory_object shm(bip::create_only, impl->name.c_str(),
                                  bip::read_write);
    // ftruncate zero-fills: every slot starts FREE at generation 0, every
    // ring empty. Pages are only backed once touched.
    shm.truncate(static_cast<bip::offset_t>(plan.total_bytes));
    impl->region = bip::mapped_region(shm, bip::read_write);
    // `shm` closes its descriptor here; the mapping stays.
  } catch (const bip::interprocess_exception& e) {
    bip::shared_memory_object::remove(impl->name.c_str());
    return Status(ErrorCode::kInternal, "cannot create shared memory /" +
                                            impl->name + ": " + e.what());
  }

  char* base = static_cast<char*>(impl->region.get_address());
  impl->header = reinterpret_cast<ShmHeader*>(base);
  *impl->header = plan;
  impl->header->creator_pid = static_cast<uint32_t>(impl->creator_pid);
  impl->slots = reinterpret_cast<ShmSlot*>(base + plan.slots_offset);
  impl->tickets = reinterpret_cast<uint64_t*>(base + plan.tickets_offset);
  impl->workers = reinterpret_cast<ShmWorker*>(base + plan.workers_offset);
  impl->completions =
      reinterpret_cast<uint64_t*>(base + plan.completions_offset);
  impl->payloads = base + plan.payloads_offset;

  impl->results_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->results_fd < 0) {
    Status failed = ErrnoStatus("eventfd", errno);
    const std::string removed = impl->name;
    impl.reset();
    RemoveStale(removed);
    return failed;
  }

  // Highest index last so the LIFO hands out slot 0 first.
  impl->free_slots.reserve(geometry.capacity);
  for (uint32_t i = geometry.capacity; i-- > 0;) impl->free_slots.push_back(i);
  impl->ticket_position.assign(geometry.capacity, Impl::kNoTicket);
  return std::unique_ptr<TaskQueue>(new TaskQueue(std::move(impl)));
}

namespace {

// Whether the shm object `name` exists; true also when it cannot be told
// (e.g. EACCES), so a caller errs on the side of cleaning up.
bool ShmObjectMayExist(const std::string& name) {
  const int fd = shm_open(("/" + name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd >= 0) close(fd);
  return fd >= 0 || errno != ENOENT;
}

}  // namespace

void TaskQueue::RemoveStale(const std::string& name) {
  if (name.empty()) return;
  // The main object is created before any blob and removed after the
  // last one, so it marks "blobs of this queue may exist". Without it (the
  // usual start: the predecessor exited cleanly) there is nothing to find,
  // and /dev/shm, which may hold thousands of other programs' objects, is
  // not listed.
  if (!ShmObjectMayExist(name)) return;
  // Blobs are "<name>.in.*" / "<name>.out.*"; Linux keeps POSIX shm in
  // /dev/shm, so that is where a crashed daemon's leftovers are found.
  // readdir, not std::filesystem: it compares each entry's name in place
  // instead of building a path object per entry (0.5 M instructions for
  // 5,800 entries, against 22 M).
  const std::string prefix = name + ".";
  std::vector<std::string> blobs;
  if (DIR* shm_dir = opendir("/dev/shm")) {
    while (const dirent* entry = readdir(shm_dir)) {
      if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) == 0) {
        blobs.emplace_back(entry->d_name);
      }
    }
    closedir(shm_dir);
  }
  // Removed after the listing: POSIX leaves it unspecified what readdir
  // returns once entries are unlinked under it.
  for (const std::string& blob : blobs) RemoveBlob(blob);
  // Last: a crash during this clean-up leaves the mark for the next start.
  bip::shared_memory_object::remove(name.c_str());
}

TaskQueue::~TaskQueue() {
  if (impl_ == nullptr || getpid() != impl_->creator_pid) return;
  const std::string name = impl_->name;
  impl_.reset();  // unmap and close first
  RemoveStale(name);
}

const QueueGeometry& TaskQueue::geometry() const { return impl_->geometry; }
const std::string& TaskQueue::name() const { return impl_->name; }

// ============================================================ supervisor

Result<SlotRef> TaskQueue::Enqueue(uint32_t function_index,
                                   std::string_view input, uint32_t attempt,
                                   const TaskTimeLimits& limits, bool chunk) {
  Impl& q = *impl_;
  if (input.size() > q.geometry.max_payload_bytes) {
    return Status(
        ErrorCode::kPayloadTooLarge,
        TooLargeMessage("input", input.size(), q.geometry.max_payload_bytes));
  }
  q.FlushOverflowTickets();
  if (q.free_slots.empty()) {
    return Status(ErrorCode::kQueueFull,
                  "all " + std::to_string(q.geometry.capacity) +
                      " task slots are in use");
  }
  const uint32_t index = q.free_slots.back();
  // A new generation makes any ticket still naming the old one stale.
  const uint32_t generation =
      GenerationOf(q.state(index).load(std::memory_order_relaxed)) + 1;
  if (Status written = q.WriteInput(index, generation, input); !written.ok()) {
    return written;
  }
  q.free_slots.pop_back();
  ShmSlot& s = q.slot(index);
  s.function_index = function_index;
  s.attempt = attempt;
  s.enqueued_ns = MonotonicNs();
  s.deadline_unix_us = limits.deadline_unix_us;
  s.timeout_us = limits.timeout_us;
  s.chunk = chunk ? 1 : 0;
  Store(s.cancel_requested, 0, std::memory_order_relaxed);
  s.output_bytes = 0;
  s.output_in_blob = 0;
  return q.Publish(index, generation);
}

Result<SlotRef> TaskQueue::Requeue(SlotRef slot, uint32_t attempt) {
  Impl& q = *impl_;
  if (slot.index >= q.geometry.capacity) {
    return Status(ErrorCode::kInvalidArgument, "no such slot");
  }
  const uint64_t word = q.state(slot.index).load(std::memory_order_acquire);
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) != SlotState::kRunning) {
    return Status(ErrorCode::kInvalidArgument,
                  "slot " + std::to_string(slot.index) +
                      " is not a running task of generation " +
                      std::to_string(slot.generation));
  }
  q.FlushOverflowTickets();
  RemoveBlob(OutputBlobName(q.name, slot.index, slot.generation));
  ShmSlot& s = q.slot(slot.index);
  s.attempt = attempt;
  s.enqueued_ns = MonotonicNs();
  Store(s.cancel_requested, 0, std::memory_order_relaxed);  // a fresh run
  s.output_bytes = 0;
  s.output_in_blob = 0;
  // The input (inline or blob, whose name keeps its own generation) stays.
  return q.Publish(slot.index, slot.generation + 1);
}

bool TaskQueue::TryWithdraw(SlotRef slot) {
  Impl& q = *impl_;
  if (slot.index >= q.geometry.capacity) return false;
  uint64_t queued = PackState(slot.generation, SlotState::kQueued, 0);
  if (!q.state(slot.index)
           .compare_exchange_strong(
               queued, PackState(slot.generation, SlotState::kFree, 0),
               std::memory_order_acq_rel, std::memory_order_relaxed)) {
    return false;  // claimed by a worker, or a stale ref
  }
  q.FreeSlot(slot.index, slot.generation, /*remove_output_blob=*/false);
  return true;
}

void TaskQueue::Release(SlotRef slot) {
  Impl& q = *impl_;
  if (slot.index >= q.geometry.capacity) return;
  const uint64_t word = q.state(slot.index).load(std::memory_order_acquire);
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) == SlotState::kFree) {
    return;  // stale ref or already free
  }
  q.FreeSlot(slot.index, slot.generation, /*remove_output_blob=*/true);
}

size_t TaskQueue::CollectCompleted(
    const std::function<void(const CompletedTask&)>& on_done) {
  Impl& q = *impl_;
  // Reset the counter before draining: a completion published after the
  // drain signals again, so none is missed.
  uint64_t signalled = 0;
  [[maybe_unused]] ssize_t read_bytes =
      read(q.results_fd, &signalled, sizeof signalled);
  // Only after the read: a worker that finds the flag clear writes the
  // eventfd, and that write must survive until the next wake-up. The
  // drain below then sees every completion published before the clear.
  Atomic(q.header->results_signalled).store(0, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);

  q.FlushOverflowTickets();
  size_t delivered = 0;
  for (uint32_t w = 0; w < q.geometry.max_workers; ++w) {
    delivered += q.DrainCompletionRing(w, on_done);
  }
  // After the rings: a late slot already delivered from a ring is FREE (or
  // reused at another generation) by now and is skipped.
  std::vector<Impl::LateCompletion> late;
  late.swap(q.late_completions);
  for (const auto& completion : late) {
    if (q.DeliverIfDone(completion.slot, completion.worker, on_done)) {
      ++delivered;
    }
  }
  return delivered;
}

std::vector<SlotRef> TaskQueue::RecoverDeadWorker(uint32_t worker) {
  Impl& q = *impl_;
  std::vector<SlotRef> running;
  if (worker >= q.geometry.max_workers) return running;

  const uint64_t head = Load(q.header->ticket_head, std::memory_order_acquire);
  for (uint32_t i = 0; i < q.geometry.capacity; ++i) {
    const uint64_t word = q.state(i).load(std::memory_order_acquire);
    const SlotRef ref{i, GenerationOf(word)};
    switch (StateOf(word)) {
      case SlotState::kRunning:
        if (OwnerOf(word) != worker) break;
        // It may have died while writing an output blob.
        RemoveBlob(OutputBlobName(q.name, i, ref.generation));
        running.push_back(ref);
        break;
      case SlotState::kDone:
        // Maybe published DONE but died before its completion ring entry.
        if (OwnerOf(word) != worker) break;
        q.late_completions.push_back({ref, worker});
        break;
      case SlotState::kQueued:
        // Its ticket was taken but the slot never claimed: the dead worker
        // stopped between the two steps. (A live worker in that window
        // gets a harmless duplicate: only one CAS can win.)
        if (q.ticket_position[i] != Impl::kNoTicket &&
            q.ticket_position[i] < head) {
          q.PushTicket(ref);  // wakes a sleeper for it
        }
        break;
      case SlotState::kFree:
        break;
    }
  }
  // No other writer exists for a dead worker's record; the next AttachWorker
  // for this index resets the rest.
  ShmWorker& record = q.workers[worker];
  // It died counted as sleeping: take its share back, or every later
  // ticket would pay for a futex wake no one needs.
  if (Load(record.sleeping, std::memory_order_acquire) != 0) {
    Store(record.sleeping, 0, std::memory_order_relaxed);
    Atomic(q.header->sleeping_workers).fetch_sub(1, std::memory_order_seq_cst);
  }
  // The dead worker may have been woken for a task it never claimed.
  q.WakeOneWorker();
  // Have the event loop call CollectCompleted: for the late completions,
  // and because the worker may have died between setting
  // results_signalled and writing the eventfd, which would leave every
  // later completion unsignalled.
  q.SignalResults();

  Store(record.busy, 0, std::memory_order_relaxed);
  Store(record.pid, 0, std::memory_order_relaxed);
  return running;
}

uint32_t TaskQueue::depth() const {
  Impl& q = *impl_;
  uint32_t queued = 0;
  for (uint32_t i = 0; i < q.geometry.capacity; ++i) {
    if (StateOf(q.state(i).load(std::memory_order_relaxed)) ==
        SlotState::kQueued) {
      ++queued;
    }
  }
  return queued;
}

uint32_t TaskQueue::in_use() const {
  return impl_->geometry.capacity -
         static_cast<uint32_t>(impl_->free_slots.size());
}

WorkerActivity TaskQueue::activity(uint32_t worker) const {
  WorkerActivity activity;
  if (worker >= impl_->geometry.max_workers) return activity;
  ShmWorker& record = impl_->workers[worker];
  activity.busy = Load(record.busy, std::memory_order_acquire) != 0;
  activity.pid =
      static_cast<pid_t>(Load(record.pid, std::memory_order_relaxed));
  activity.function_index = static_cast<uint32_t>(
      Load(record.function_index, std::memory_order_relaxed));
  activity.started_ns =
      static_cast<int64_t>(Load(record.started_ns, std::memory_order_relaxed));
  activity.tasks_done = Load(record.tasks_done, std::memory_order_relaxed);
  return activity;
}

int TaskQueue::results_ready_fd() const { return impl_->results_fd; }

// ============================================================ worker

void TaskQueue::AttachWorker(uint32_t worker, pid_t pid) {
  Impl& q = *impl_;
  q.input_blobs.clear();
  q.crash_point = internal::TestCrashPoint::kNone;
  // The supervisor's bookkeeping is not this process's to use.
  q.free_slots.clear();
  q.overflow_tickets.clear();
  q.late_completions.clear();
  ShmWorker& record = q.workers[worker];
  Store(record.busy, 0, std::memory_order_relaxed);
  Store(record.function_index, 0, std::memory_order_relaxed);
  Store(record.started_ns, 0, std::memory_order_relaxed);
  Store(record.tasks_done, 0, std::memory_order_relaxed);
  Store(record.pid, static_cast<uint64_t>(pid), std::memory_order_release);
  // completion_tail is kept: the supervisor's head continues from it.
}

std::optional<ClaimedTask> TaskQueue::TryClaim(uint32_t worker) {
  Impl& q = *impl_;
  bool skipped_stale = false;
  for (;;) {
    const std::optional<SlotRef> ticket = q.TakeTicket();
    if (!ticket) break;
    q.CrashIfAt(internal::TestCrashPoint::kBetweenClaimSteps);
    if (auto task = q.ClaimSlot(worker, *ticket)) {
      if (skipped_stale) q.SignalResults();
      return task;
    }
    skipped_stale = true;
  }
  // Consuming stale tickets freed ring space; poke the supervisor so it
  // moves any overflowed tickets in (CollectCompleted flushes them).
  if (skipped_stale) q.SignalResults();
  return std::nullopt;
}

std::optional<ClaimedTask> TaskQueue::WaitAndClaim(uint32_t worker,
                                                   const sigset_t* idle_mask) {
  Impl& q = *impl_;
  ShmWorker& record = q.workers[worker];
  AtomicWord sleepers = Atomic(q.header->sleeping_workers);
  std::atomic_ref<uint32_t> wake(q.header->task_wake);
  for (;;) {
    if (auto task = TryClaim(worker)) return task;
    // Read the futex word, count ourselves as sleeping, then look once
    // more: a ticket pushed after that look finds the count, and its wake
    // either finds us waiting or changes the word so FUTEX_WAIT returns at
    // once (see WakeSleepingWorker).
    const uint32_t seen = wake.load(std::memory_order_seq_cst);
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    Store(record.sleeping, 1, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    std::optional<ClaimedTask> task = TryClaim(worker);
    bool interrupted = false;
    if (!task) {
      // A wake may find the ring already empty (another worker took the
      // task), then we sleep again. EINTR lets the worker's signal handling
      // run. A signal acting between the wait and the restored mask costs
      // at most a wake, which RecoverDeadWorker gives back.
      sigset_t busy_mask;
      if (idle_mask != nullptr) {
        pthread_sigmask(SIG_SETMASK, idle_mask, &busy_mask);
      }
      const long waited = syscall(SYS_futex, &q.header->task_wake, FUTEX_WAIT,
                                  seen, nullptr, nullptr, 0);
      interrupted = waited < 0 && errno == EINTR;
      if (idle_mask != nullptr) {
        pthread_sigmask(SIG_SETMASK, &busy_mask, nullptr);
      }
    }
    // Flag first, count second: a death in between over-counts (harmless).
    Store(record.sleeping, 0, std::memory_order_release);
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    if (task) return task;
    if (interrupted) return std::nullopt;
  }
}

std::optional<uint32_t> TaskQueue::RunningWorker(SlotRef slot) const {
  Impl& q = *impl_;  // the atomic load needs a non-const reference
  if (slot.index >= q.geometry.capacity) return std::nullopt;
  const uint64_t word = q.state(slot.index).load(std::memory_order_acquire);
  if (GenerationOf(word) != slot.generation ||
      StateOf(word) != SlotState::kRunning) {
    return std::nullopt;
  }
  return OwnerOf(word);
}

bool TaskQueue::RequestCancel(SlotRef slot) {
  if (!RunningWorker(slot)) return false;
  // Only the supervisor frees or reuses a slot, so it is still this task's
  // run here; if the worker finishes meanwhile the flag is simply unread.
  Store(impl_->slot(slot.index).cancel_requested, 1, std::memory_order_release);
  return true;
}

bool TaskQueue::CancelRequested(const ClaimedTask& task) const {
  return Load(impl_->slot(task.slot.index).cancel_requested,
              std::memory_order_acquire) != 0;
}

void TaskQueue::MarkItemStarted(uint32_t worker, int64_t started_ns) {
  Store(impl_->workers[worker].started_ns, static_cast<uint64_t>(started_ns),
        std::memory_order_relaxed);
}

void TaskQueue::Complete(uint32_t worker, const ClaimedTask& task,
                         ErrorCode code, std::string_view output, uint32_t tasks_done) {
  impl_->Finish(worker, task, code, output, tasks_done);
}

namespace internal {
void SetTestCrashPoint(TaskQueue& queue, TestCrashPoint point) {
  queue.impl_->crash_point = point;
}
}  // namespace internal

}  // namespace taskpool::shmq
