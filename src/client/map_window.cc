#include "client/map_window.h"

#include <algorithm>

namespace taskpool::client {

MapWindow::MapWindow(size_t window) : window_(std::max<size_t>(window, 1)) {}

void MapWindow::WaitUntilAtMost(size_t level, std::unique_lock<std::mutex>& lock) {
  if (in_flight_ <= level) return;
  waiting_ = true;
  wake_at_ = level;
  room_.wait(lock, [&] { return in_flight_ <= level; });
  waiting_ = false;
}

void MapWindow::TakeRoomFor(size_t count) {
  std::unique_lock lock(mutex_);
  WaitUntilAtMost(count >= window_ ? 0 : window_ - count, lock);
  in_flight_ += count;
}

size_t MapWindow::TakeRoom(size_t wanted) {
  std::unique_lock lock(mutex_);
  WaitUntilAtMost(window_ / 2, lock);
  const size_t taken = std::min(wanted, window_ - in_flight_);
  in_flight_ += taken;
  return taken;
}

void MapWindow::Done(size_t count) {
  // Notified under the lock: once map() sees the last result it returns
  // and destroys the window, so nothing may touch it after.
  std::lock_guard lock(mutex_);
  in_flight_ -= count;
  if (waiting_ && in_flight_ <= wake_at_) room_.notify_one();
}

void MapWindow::WaitForAll() {
  std::unique_lock lock(mutex_);
  WaitUntilAtMost(0, lock);
}

}  // namespace taskpool::client
