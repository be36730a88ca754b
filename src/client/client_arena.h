// The client's payload arena: shared memory the client sends the daemon
// with its hello (v1::Hello.payload_arena_bytes), where large inputs are
// written and their outputs come back, so that neither crosses the socket
// or passes through the daemon. It is a memfd sealed against shrinking and
// growing (so no worker mapping it can fault), mapped here once.
//
// Ranges are handed out first fit, lowest offset first, so a steady stream
// of tasks reuses the same pages instead of touching new ones; a range
// comes back only with its task's Result (or when the connection breaks:
// the arena is never given to another connection, since a worker may still
// write into a range whose task the client gave up on). When no range is
// free the input goes over the socket as before: the arena never makes a
// submission wait.
//
// Thread-safety: Allocate and Free may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::client {

class ClientArena {
 public:
  // Inputs smaller than this are cheaper through the socket than through
  // the arena (the worker copies them out either way; below this size the
  // daemon keeps them in the queue's slot itself).
  static constexpr uint64_t kMinPayloadBytes = 32 * 1024;

  struct Range {
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  // What a range of the arena keeps of its pages while no task uses it:
  // past this, an idle arena gives its pages back (so a burst of large
  // tasks does not hold its memory for the rest of the connection).
  static constexpr uint64_t kKeptIdleBytes = 64 << 20;

  // A fresh arena of `bytes`, sealed and mapped. INTERNAL (with the errno)
  // if the system cannot make one, or if this process has as many arenas
  // as a quarter of its descriptor limit (RLIMIT_NOFILE):
  // each costs a descriptor, and a program with many connections must not
  // run out of them for its sockets. The client then goes without.
  static Result<std::unique_ptr<ClientArena>> Create(uint64_t bytes);
  ~ClientArena();
  ClientArena(const ClientArena&) = delete;
  ClientArena& operator=(const ClientArena&) = delete;

  int fd() const { return fd_.get(); }
  uint64_t bytes() const { return bytes_; }
  char* at(uint64_t offset) const { return base_ + offset; }

  // A free range of `size` bytes (rounded up to a cache line), or nullopt
  // if none is left.
  std::optional<Range> Allocate(uint64_t size);
  // Gives back a range Allocate returned.
  void Free(Range range);

 private:
  ClientArena(base::UniqueFd fd, char* base, uint64_t bytes);

  const base::UniqueFd fd_;
  char* const base_;
  const uint64_t bytes_;
  std::mutex mutex_;
  std::map<uint64_t, uint64_t> free_;  // offset -> size, never adjacent
  uint64_t touched_ = 0;  // the end of the highest range handed out since the last release
};

}  // namespace taskpool::client
