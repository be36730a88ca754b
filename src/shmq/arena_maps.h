// The clients' payload arenas a worker has mapped (ArenaInput,
// queue_types.h). An arena is opened through the supervisor's descriptor,
// /proc/<supervisor>/fd/<fd> (the worker is the supervisor's child, of the
// same user, so it may), mapped whole, and kept for the next task that names
// it: a stream of large tasks from one client pays for the mapping and for
// the page faults of its pages once, not per task.
//
// What it keeps is bounded: at most kMaxMapped arenas, the least recently
// used unmapped first, and none once the worker has been idle for a while
// (WorkerQueue drops them all), so a client that went away does not have
// its memory held by workers that mapped it.
//
// A mapping cannot fault: the daemon accepts an arena only sealed against
// shrinking (serve/payload_arena.h), and every range is checked against the
// arena's size here.
//
// Thread-safety: one worker thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>

#include "taskpool/status.hpp"

namespace taskpool::shmq {

// One arena mapped read-write; unmapped when the last holder lets go.
class ArenaMapping {
 public:
  ArenaMapping(char* base, uint64_t size) : base_(base), size_(size) {}
  ~ArenaMapping();
  ArenaMapping(const ArenaMapping&) = delete;
  ArenaMapping& operator=(const ArenaMapping&) = delete;

  char* base() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  char* base_;
  uint64_t size_;
};

class ArenaMaps {
 public:
  static constexpr size_t kMaxMapped = 4;

  explicit ArenaMaps(pid_t supervisor) : supervisor_(supervisor) {}

  // The arena the supervisor holds as descriptor `fd`, mapped, if it is the
  // file whose inode's low 32 bits are `inode` and has at least `needed`
  // bytes. INTERNAL, saying why, otherwise (the client's connection
  // closed and the descriptor was closed or reused, say).
  Result<std::shared_ptr<ArenaMapping>> Map(uint32_t fd, uint32_t inode, uint64_t needed);

  // Unmaps every arena no task holds.
  void Clear() { mapped_.clear(); }
  bool empty() const { return mapped_.empty(); }

 private:
  struct Entry {
    uint32_t fd;
    uint32_t inode;
    std::shared_ptr<ArenaMapping> mapping;
  };

  Result<std::shared_ptr<ArenaMapping>> Open(uint32_t fd, uint32_t inode);

  const pid_t supervisor_;
  std::list<Entry> mapped_;  // most recently used first
};

}  // namespace taskpool::shmq
