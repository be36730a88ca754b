// How many of a Client::map's inputs are in flight, bounded by its window:
// the submitting thread takes room, the reader thread gives it back as
// results land, and the submitter is woken only when the room it waits for
// is there (not once per result).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace taskpool::client {

class MapWindow {
 public:
  // REQUIRES: window >= 1.
  explicit MapWindow(size_t window);

  // Waits until `count` more inputs fit (or nothing is in flight, so that
  // a chunk larger than the window still goes), then counts them in.
  void TakeRoomFor(size_t count);
  // Waits until at most half the window is in flight, then counts in as
  // much of the rest as `wanted` needs and returns how much: refilling by
  // halves sends tasks in batches and wakes the submitter once per batch.
  // REQUIRES: wanted >= 1.
  size_t TakeRoom(size_t wanted);
  // `count` inputs have their results.
  void Done(size_t count);
  // Waits until every input counted in is done.
  void WaitForAll();

 private:
  void WaitUntilAtMost(size_t level, std::unique_lock<std::mutex>& lock);

  const size_t window_;
  std::mutex mutex_;
  std::condition_variable room_;
  size_t in_flight_ = 0;
  size_t wake_at_ = 0;  // the level the submitter waits for; 0 when none
  bool waiting_ = false;
};

}  // namespace taskpool::client
