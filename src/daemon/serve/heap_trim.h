// Gives the heap memory a big connection used back to the system once it
// has closed.
//
// glibc's malloc keeps what is freed for reuse: after a connection's
// megabytes of frames and replies are freed, the supervisor's resident
// size stays at its high-water mark (the issue measured 491 MB held after
// the client left). malloc_trim(0) returns every free page, from the middle
// of the heap too. It walks the heap, so it runs only after connections
// that held a lot, once for several that close together, and later on the
// event loop: the closed session's last handlers free its buffers first.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>

namespace taskpool::daemon {

class HeapTrim {
 public:
  // A connection that held at least this much is worth a trim.
  static constexpr uint64_t kWorthTrimmingBytes = 4ull << 20;

  explicit HeapTrim(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

  // A connection that held `peak_bytes` at most has closed: schedules a
  // trim if that is worth one and none is scheduled yet.
  void ConnectionClosed(uint64_t peak_bytes);

 private:
  boost::asio::any_io_executor executor_;
  bool scheduled_ = false;
};

}  // namespace taskpool::daemon
