#include "daemon/serve/heap_trim.h"

#include <malloc.h>

#include <boost/asio/post.hpp>

namespace taskpool::daemon {

void HeapTrim::ConnectionClosed(uint64_t peak_bytes) {
  if (peak_bytes < kWorthTrimmingBytes || scheduled_) return;
  scheduled_ = true;
  boost::asio::post(executor_, [this] {
    scheduled_ = false;
    malloc_trim(0);
  });
}

}  // namespace taskpool::daemon
