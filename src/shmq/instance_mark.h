// Which daemon owns which blobs in /dev/shm, so that any later start, on
// any socket, can remove what a crashed daemon left there.
//
// Each queue makes an empty file /dev/shm/taskpool-<32 random hex> (its
// mark) and holds an flock on it for its whole life; its blobs are named
// "<mark>.<32 random hex>". The lock is the supervisor's: its workers close
// the descriptor at start, as everything they inherit but the queue's
// eventfds, and die with it (their parent-death signal). So the lock is
// free once the supervisor is gone, however it died; a worker of it may
// still be dying then, and its blobs are nobody's. SweepDeadInstances removes the blobs of
// every mark whose lock it can take, then the mark; and blobs whose mark
// is gone (a mark is made before its blobs and removed after them).
//
// Names of other formats (older versions, other programs) are never
// touched. Only files the caller may unlink are removed: a daemon cannot
// remove another user's leftovers in sticky /dev/shm (root can).
//
// Thread-safety: an InstanceMark is a plain value; the sweep is safe to run
// from several processes at once.
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::shmq {

class InstanceMark {
 public:
  // Sweeps dead instances, then creates a fresh mark (a new name on a
  // collision) and takes its lock. INTERNAL if /dev/shm refuses.
  static Result<InstanceMark> Create();

  // Removes the blobs and marks of every instance whose processes are all
  // gone (see above). Lists /dev/shm once.
  static void SweepDeadInstances();

  InstanceMark() = default;
  InstanceMark(InstanceMark&&) = default;
  InstanceMark& operator=(InstanceMark&&) = default;

  // "taskpool-<32 hex>": the mark's name and its blobs' prefix.
  const std::string& name() const { return name_; }

  // Removes this instance's blobs, then its mark, and drops the lock.
  // REQUIRES: called by the creator, once no process writes blobs.
  void Remove();

 private:
  InstanceMark(std::string name, base::UniqueFd fd)
      : name_(std::move(name)), fd_(std::move(fd)) {}

  std::string name_;
  base::UniqueFd fd_;  // holds the flock (closed in the workers)
};

}  // namespace taskpool::shmq
