// Talks to systemd's service manager through libsystemd's sd_notify:
// READY=1 once the pool serves, STATUS= lines describing it, STOPPING=1 at
// shutdown and WATCHDOG=1 keep-alives when the unit sets WatchdogSec=.
//
// Without $NOTIFY_SOCKET (not started by systemd) every call is a no-op, no
// timer runs and libsystemd is not loaded (libsystemd.h). If it cannot be
// loaded, the constructor logs why and the notifier stays disabled.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace taskpool::daemon {

class SystemdNotifier {
 public:
  // How often STATUS= is refreshed (sent only when its text changed).
  static constexpr std::chrono::seconds kStatusInterval{1};

  explicit SystemdNotifier(boost::asio::io_context& io);

  bool enabled() const { return enabled_; }

  // Starts the WATCHDOG=1 pings at half of $WATCHDOG_USEC, if systemd asked
  // for them (sd_watchdog_enabled; $WATCHDOG_PID, when set, must be us).
  void StartWatchdog();

  // Sends READY=1 with the first STATUS= line, then refreshes STATUS= from
  // `describe` every kStatusInterval.
  void Ready(std::function<std::string()> describe);

  // Sends STOPPING=1 with a last STATUS= line; no more periodic STATUS=.
  void Stopping(const std::string& status);

  // Cancels the timers so the event loop can run out. Watchdog pings stop.
  void Stop();

 private:
  void Send(const std::string& state);
  void ScheduleStatus();
  void ScheduleWatchdog();

  bool enabled_;  // $NOTIFY_SOCKET is set and libsystemd loaded
  // From libsystemd, loaded only when enabled_ (see libsystemd.h).
  int (*sd_notify_)(int unset_environment, const char* state) = nullptr;
  int (*sd_watchdog_enabled_)(int unset_environment, uint64_t* usec) = nullptr;
  boost::asio::steady_timer status_timer_;
  boost::asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};
  std::function<std::string()> describe_;
  std::string last_status_;
  bool stopped_ = false;
};

}  // namespace taskpool::daemon
