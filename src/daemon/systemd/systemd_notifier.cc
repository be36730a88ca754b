#include "daemon/systemd/systemd_notifier.h"

#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "daemon/systemd/libsystemd.h"

namespace taskpool::daemon {

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io)
    : enabled_(std::getenv("NOTIFY_SOCKET") != nullptr),
      status_timer_(io),
      watchdog_timer_(io) {
  if (!enabled_) return;  // libsystemd is not even loaded
  Result<decltype(&sd_notify)> notify =
      Libsystemd().Function<decltype(&sd_notify)>("sd_notify");
  Result<decltype(&sd_watchdog_enabled)> watchdog_enabled =
      Libsystemd().Function<decltype(&sd_watchdog_enabled)>(
          "sd_watchdog_enabled");
  if (!notify.ok() || !watchdog_enabled.ok()) {
    const Status& failed =
        notify.ok() ? watchdog_enabled.status() : notify.status();
    TP_LOG(kError) << failed.message()
                   << "; systemd will not be told READY=1, STATUS= or "
                      "WATCHDOG=1 (install libsystemd0)";
    enabled_ = false;
    return;
  }
  sd_notify_ = *notify;
  sd_watchdog_enabled_ = *watchdog_enabled;
}

void SystemdNotifier::StartWatchdog() {
  if (!enabled_) return;
  uint64_t usec = 0;
  // unset_environment = 0: $WATCHDOG_USEC stays readable for diagnostics;
  // workers never call sd_notify, so inheriting it is harmless.
  const int enabled = sd_watchdog_enabled_(0, &usec);
  if (enabled < 0) {
    TP_LOG(kWarning) << "ignoring the systemd watchdog settings: "
                     << std::strerror(-enabled);
    return;
  }
  if (enabled == 0 || usec == 0) return;
  // Half the timeout, as sd_watchdog_enabled(3) recommends: one late ping
  // must not get us killed.
  watchdog_interval_ = std::chrono::microseconds(usec / 2);
  TP_LOG(kInfo) << "systemd watchdog: pinging every "
                << watchdog_interval_.count() / 1000 << " ms";
  Send("WATCHDOG=1");
  ScheduleWatchdog();
}

void SystemdNotifier::ScheduleWatchdog() {
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    Send("WATCHDOG=1");
    ScheduleWatchdog();
  });
}

void SystemdNotifier::Ready(std::function<std::string()> describe) {
  if (!enabled_ || stopped_) return;
  describe_ = std::move(describe);
  last_status_ = describe_();
  Send("READY=1\nSTATUS=" + last_status_);
  ScheduleStatus();
}

void SystemdNotifier::ScheduleStatus() {
  status_timer_.expires_after(kStatusInterval);
  status_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_ || !describe_) return;
    std::string status = describe_();
    if (status != last_status_) {
      last_status_ = std::move(status);
      Send("STATUS=" + last_status_);
    }
    ScheduleStatus();
  });
}

void SystemdNotifier::Stopping(const std::string& status) {
  if (!enabled_) return;
  describe_ = nullptr;
  status_timer_.cancel();
  Send("STOPPING=1\nSTATUS=" + status);
}

void SystemdNotifier::Stop() {
  stopped_ = true;
  status_timer_.cancel();
  watchdog_timer_.cancel();
}

void SystemdNotifier::Send(const std::string& state) {
  const int sent = sd_notify_(0, state.c_str());
  if (sent < 0) {
    // Once is enough to tell the operator; the service still works.
    TP_LOG(kWarning) << "sd_notify: " << std::strerror(-sent);
  }
}

}  // namespace taskpool::daemon
