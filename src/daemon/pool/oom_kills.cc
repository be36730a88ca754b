#include "daemon/pool/oom_kills.h"

#include <charconv>
#include <sstream>

#include "base/text_file.h"

namespace taskpool::daemon {

namespace {

constexpr char kVmstat[] = "/proc/vmstat";

}  // namespace

std::optional<uint64_t> ParseOomKillCount(std::string_view text) {
  constexpr std::string_view kKey = "oom_kill ";
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (line.starts_with(kKey)) {
      uint64_t count = 0;
      const char* begin = line.data() + kKey.size();
      const auto [stop, error] = std::from_chars(begin, line.data() + line.size(), count);
      if (error == std::errc() && stop != begin) return count;
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::string CgroupMemoryEventsPath(std::string_view proc_self_cgroup) {
  std::istringstream lines{std::string(proc_self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("0::")) continue;  // the unified (v2) hierarchy
    std::string path = line.substr(3);
    if (path == "/") path.clear();
    return "/sys/fs/cgroup" + path + "/memory.events";
  }
  return "";
}

OomKillCounter::OomKillCounter() {
  const std::optional<std::string> cgroup = base::ReadTextFile("/proc/self/cgroup");
  const std::string events = cgroup ? CgroupMemoryEventsPath(*cgroup) : "";
  const std::optional<std::string> text = events.empty() ? std::nullopt : base::ReadTextFile(events);
  if (text && ParseOomKillCount(*text)) {
    path_ = events;
  } else if (const std::optional<std::string> vmstat = base::ReadTextFile(kVmstat);
             vmstat && ParseOomKillCount(*vmstat)) {
    path_ = kVmstat;
    machine_wide_ = true;
  }
  last_ = Read();
}

std::optional<uint64_t> OomKillCounter::Read() const {
  if (path_.empty()) return std::nullopt;
  const std::optional<std::string> text = base::ReadTextFile(path_);
  return text ? ParseOomKillCount(*text) : std::nullopt;
}

std::string OomKillCounter::NoteIfRose() {
  const std::optional<uint64_t> now = Read();
  const bool rose = now && last_ && *now > *last_;
  if (now) last_ = now;
  if (!rose) return "";
  return std::string(machine_wide_ ? "probably " : "") + "by the kernel's OOM killer (oom_kill in " +
         path_ + " rose)";
}

}  // namespace taskpool::daemon
