#include "daemon/route/asio_router_clock.h"

namespace taskpool::daemon {

void AsioRouterClock::CallAfter(std::chrono::milliseconds after, std::function<void()> tick) {
  timer_.expires_after(after);
  timer_.async_wait([tick = std::move(tick)](const boost::system::error_code& error) {
    if (!error) tick();  // cancelled: the router is going away
  });
}

}  // namespace taskpool::daemon
