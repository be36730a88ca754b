// One line per event on stderr, with a level.
//
//   TP_LOG(kInfo) << "worker " << index << " started (pid " << pid << ")";
//
// Each line is written with a single write(2), so lines from the supervisor
// and its workers never interleave mid-line. When stderr is connected to the
// systemd journal ($JOURNAL_STREAM names it), lines carry the syslog level
// prefix journald understands (<3>, <4>, <6>, <7>) instead of a timestamp.
//
// Thread-safety: safe from any thread.
#pragma once

#include <sstream>
#include <string>

namespace taskpool::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Messages below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error".
bool ParseLogLevel(const std::string& text, LogLevel* level);

// Text put before every message, e.g. "taskpoold" or "worker 3".
void SetLogTag(std::string tag);

class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <typename T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace taskpool::base

namespace taskpool::base {
// Lets TP_LOG be a single expression: `void & stream` binds looser than
// `<<`, so the whole chain is built first (the glog idiom).
struct LogVoidify {
  void operator&(LogLine&) {}
};
}  // namespace taskpool::base

#define TP_LOG(level)                                             \
  (::taskpool::base::LogLevel::level < ::taskpool::base::GetLogLevel())       \
      ? (void)0                                                   \
      : ::taskpool::base::LogVoidify() & ::taskpool::base::LogLine(::taskpool::base::LogLevel::level)
