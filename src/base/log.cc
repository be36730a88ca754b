#include "base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "base/clock.h"

namespace taskpool::base {

namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_tag_mutex;
std::string g_tag = "taskpool";  // guarded by g_tag_mutex

// True when stderr is the journal stream systemd gave us: $JOURNAL_STREAM is
// "device:inode" of that stream.
bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  return device == st.st_dev && inode == st.st_ino;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// syslog(3) priorities, as journald reads them from a line prefix.
const char* JournalPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "<7>";
    case LogLevel::kInfo: return "<6>";
    case LogLevel::kWarning: return "<4>";
    case LogLevel::kError: return "<3>";
  }
  return "<6>";
}

std::string Timestamp() {
  const auto now = WallClock::now();
  const std::time_t seconds = WallClock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          now.time_since_epoch()) % 1000;
  std::tm local {};
  localtime_r(&seconds, &local);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  std::snprintf(text + n, sizeof text - n, ".%03d", static_cast<int>(millis.count()));
  return text;
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }

bool ParseLogLevel(const std::string& text, LogLevel* level) {
  for (LogLevel candidate : {LogLevel::kDebug, LogLevel::kInfo,
                             LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

void SetLogTag(std::string tag) {
  std::lock_guard lock(g_tag_mutex);
  g_tag = std::move(tag);
}

LogLine::~LogLine() {
  static const bool journal = StderrIsJournal();
  std::string line;
  if (journal) {
    line = JournalPrefix(level_);
  } else {
    line = Timestamp() + " " + LevelName(level_) + " ";
  }
  {
    std::lock_guard lock(g_tag_mutex);
    line += g_tag;
  }
  line += ": ";
  line += stream_.str();
  line += '\n';
  // One write so concurrent processes do not interleave within a line.
  [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace taskpool::base
