// The daemon's RouterClock: the system clocks and one Asio timer.
//
// Destroying it cancels a pending tick, which is then never called.
//
// Thread-safety: used only from the thread running `io`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/route/router_clock.h"

namespace taskpool::daemon {

class AsioRouterClock final : public RouterClock {
 public:
  explicit AsioRouterClock(boost::asio::io_context& io) : timer_(io) {}

  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::now();
  }
  void CallAfter(std::chrono::milliseconds after, std::function<void()> tick) override;

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace taskpool::daemon
