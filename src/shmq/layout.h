// The bytes of the queue's shared-memory object: its header, slots and
// per-worker records, and where each region starts. layout.md describes the
// same layout in prose; keep the two in step, and bump kAbiVersion on any
// change.
//
// Shared structs hold plain integers (so they stay trivially copyable, with
// a layout fixed by the ABI) and no pointers: every region is found by an
// integer offset from the start of the object, so the object means the same
// whatever address a process maps it at. Every access that can race goes
// through std::atomic_ref (shared_word.h). Each field's comment says which
// process writes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "shmq/queue_types.h"
#include "shmq/shm_files.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

inline constexpr uint64_t kMagic = 0x4C4F4F504B534154;  // "TASKPOOL", little-endian
inline constexpr uint32_t kAbiVersion = 7;
inline constexpr size_t kCacheLine = 64;
// An input of at most this many bytes is kept inside its slot
// (ShmSlot::small_input), in what was the struct's padding.
inline constexpr uint64_t kSlotInputBytes = 32;

// Written once by the supervisor in Create, before any worker exists; the
// words after `total_bytes` are the rings' and wake-ups' shared counters,
// each on its own cache line.
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
  // Next ticket to take (ticket_ring.h). Workers advance it by CAS; the
  // supervisor reads it.
  alignas(kCacheLine) uint64_t ticket_head;
  // Next ticket position to write. Written by the supervisor only (release
  // after the entry); workers read it (acquire).
  alignas(kCacheLine) uint64_t ticket_tail;
  // Workers that are (about to be) asleep on `task_wake` (wakeups.h). A
  // worker adds 1 before its last look at the ring and subtracts 1 after
  // waking; the supervisor wakes one only while it is non-zero, and
  // subtracts a reaped worker's share. It may over-count (only costs a
  // spare wake), never under-count, which would leave a task unclaimed.
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

// Where an input lies in a client's payload arena (ArenaInput): the
// supervisor's descriptor for the file, the low 32 bits of its inode (to
// know the descriptor still names that file) and the input's offset.
struct ArenaRef {
  uint64_t offset;
  uint32_t fd;
  uint32_t inode;
};
static_assert(sizeof(ArenaRef) == sizeof(ShmId));

struct alignas(kCacheLine) ShmSlot {
  // Packed (generation, state, owner): slot_state.h has the transitions
  // and who makes each.
  uint64_t state;
  // The task. Written by the supervisor while it owns the slot (FREE or
  // RUNNING of a dead worker), before the release store of QUEUED; read by
  // the worker after its acquiring CAS.
  uint32_t function_index;
  uint32_t attempt;
  uint64_t input_bytes;
  uint32_t input_in_blob;   // 1: input is in the blob `input_blob`
  uint32_t input_in_arena;  // 1: input is in a client's arena, `input_arena`
  int64_t enqueued_ns;             // CLOCK_MONOTONIC
  // When the task must be done, for Context::deadline(): the submission's
  // deadline as CLOCK_REALTIME microseconds (0: none) and its running-time
  // limit (0: none), which the worker adds to its start. Supervisor, with
  // the fields above.
  int64_t deadline_unix_us;
  int64_t timeout_us;
  // The enqueuer's opaque flag, handed to the claiming worker as it was
  // given (0 or 1); the queue never reads it. Supervisor, with the fields
  // above.
  uint32_t flag;
  // With input_in_arena: the bytes right after the input in the arena that
  // the worker may write the output into (0: none). Supervisor, with the
  // fields above.
  uint32_t output_room_bytes;
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
  uint32_t output_in_blob;   // 1: output is in the blob `output_blob`
  uint32_t output_in_arena;  // 1: output is in the arena, after the input
  int64_t started_ns;   // CLOCK_MONOTONIC
  int64_t finished_ns;  // CLOCK_MONOTONIC
  int64_t started_unix_us;
  int64_t finished_unix_us;
  // The blobs' random names (blob_store.h); while the slot is FREE, the
  // blobs it kept for its next task (SupervisorQueue::KeepBlobs), or empty.
  // `input_blob`: the supervisor, with the task's fields (kept by
  // Requeue). `output_blob`: a kept blob, which the claiming worker
  // rewrites, or empty; set by the claiming worker before it creates a new
  // file, so a worker that dies half-way through leaves a name the
  // supervisor can remove (RecoverDeadWorker).
  //
  // `input_arena` takes the input blob's place while input_in_arena is 1:
  // a slot whose input is in an arena has no input blob, kept or not (the
  // supervisor removes a kept one first, and clears the field when it frees
  // the slot).
  union {
    ShmId input_blob;
    ArenaRef input_arena;
  };
  ShmId output_blob;
  // An input of at most kSlotInputBytes, instead of the inline area, so a
  // small queued task touches its slot and not a page of the payload area
  // (a queued 16-byte task cost 4 KiB of shared memory). Written and read
  // as the inline area is: the supervisor, with the task's fields.
  char small_input[kSlotInputBytes];
};

struct alignas(kCacheLine) ShmWorker {
  // Activity: written by this worker only (attach, claim, RestartRunClock,
  // Complete); and by the supervisor in RecoverDeadWorker, once the worker
  // is reaped. Supervisor reads are advisory (not one snapshot).
  uint64_t pid;
  uint64_t busy;
  uint64_t function_index;
  uint64_t started_ns;  // CLOCK_MONOTONIC
  uint64_t tasks_done;
  // 1 while this worker counts itself in ShmHeader::sleeping_workers (set
  // after its increment, cleared before its decrement), so RecoverDeadWorker
  // can take back exactly a dead worker's share. Written by the worker, and
  // by the supervisor once the worker is reaped.
  uint64_t sleeping;
  // Completion ring producer index (completion_ring.h): written by the
  // worker (release, after the entry), read by the supervisor. Survives
  // respawns of the index.
  alignas(kCacheLine) uint64_t completion_tail;
  // Completion ring consumer index: supervisor only.
  alignas(kCacheLine) uint64_t completion_head;
};

static_assert(std::is_trivially_copyable_v<ShmHeader>);
static_assert(std::is_trivially_copyable_v<ShmSlot>);
static_assert(std::is_trivially_copyable_v<ShmWorker>);
// Pinned by the ABI version (layout.md).
static_assert(std::is_trivially_copyable_v<ShmId>);
static_assert(sizeof(ShmSlot) == 192);
static_assert(sizeof(ShmWorker) == 192);

// "the task queue (512 slots with 32768 inline bytes each way)": names
// the queue in errors by what the options set.
std::string DescribeQueue(const QueueGeometry& geometry);

// INVALID_ARGUMENT naming the problem if `geometry` is out of range.
Status ValidateGeometry(const QueueGeometry& geometry);

// The header of a fresh object for `geometry`: magic, version, sizes and
// every region's offset (creator_pid and the shared counters left 0).
// REQUIRES: ValidateGeometry accepted `geometry`.
ShmHeader PlanLayout(const QueueGeometry& geometry);

}  // namespace taskpool::shmq
