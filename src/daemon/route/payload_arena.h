// A client's payload arena, as the daemon holds it: the descriptor the
// client sent with its hello (v1::Hello.payload_arena_bytes), checked to be
// shared memory that can neither shrink nor grow, so that no worker mapping
// it can ever fault on a page cut away under it. The daemon never maps it:
// workers do (shmq/arena_maps.h), and a queued task keeps it open
// (shmq::ArenaInput::hold) until its slot is free, even after its
// connection closed.
//
// Thread-safety: immutable once accepted.
#pragma once

#include <cstdint>
#include <memory>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

class PayloadArena {
 public:
  // The arena in `fd`, which the client said has `declared_bytes`.
  // INVALID_ARGUMENT, saying what is wrong and what to do, if it is not a
  // regular file of that size or lacks the seals F_SEAL_SHRINK,
  // F_SEAL_GROW and F_SEAL_SEAL.
  static Result<std::shared_ptr<const PayloadArena>> Accept(base::UniqueFd fd,
                                                            uint64_t declared_bytes);

  // Whether the daemon may hold one more arena: each costs a descriptor
  // for as long as its connection or its last queued task lives, so they
  // may take a quarter of the descriptor limit (RLIMIT_NOFILE) at most,
  // and connections never run short of descriptors for their sockets. A
  // client refused one sends its payloads over the socket.
  static bool HaveRoomForAnother();

  int fd() const { return fd_.get(); }
  uint64_t inode() const { return inode_; }
  uint64_t bytes() const { return bytes_; }

  // Whether [offset, offset + size + room) lies in the arena.
  bool Holds(uint64_t offset, uint64_t size, uint64_t room) const;

  PayloadArena(base::UniqueFd fd, uint64_t inode, uint64_t bytes);
  ~PayloadArena();
  PayloadArena(const PayloadArena&) = delete;
  PayloadArena& operator=(const PayloadArena&) = delete;

 private:
  base::UniqueFd fd_;
  uint64_t inode_;
  uint64_t bytes_;
};

}  // namespace taskpool::daemon
