#include "daemon/pool/process_stats.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>
#include <string>

#include "base/text_file.h"

namespace taskpool::daemon {

namespace {

// The next space-separated unsigned number in `text` from `*position`.
std::optional<uint64_t> NextNumber(std::string_view text, size_t* position) {
  while (*position < text.size() && text[*position] == ' ') ++*position;
  uint64_t value = 0;
  const char* begin = text.data() + *position;
  const auto [end, error] =
      std::from_chars(begin, text.data() + text.size(), value);
  if (error != std::errc() || end == begin) return std::nullopt;
  *position += static_cast<size_t>(end - begin);
  return value;
}

// Skips one space-separated field of any content.
bool SkipField(std::string_view text, size_t* position) {
  while (*position < text.size() && text[*position] == ' ') ++*position;
  if (*position >= text.size()) return false;
  while (*position < text.size() && text[*position] != ' ') ++*position;
  return true;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::optional<std::string> text = base::ReadTextFile(path);
  if (!text) return ErrnoStatus("open " + path, errno);
  return std::move(*text);
}

uint64_t TicksToMillis(uint64_t ticks) {
  // sysconf never changes while we run; ask once.
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return ticks_per_second > 0
             ? ticks * 1000 / static_cast<uint64_t>(ticks_per_second)
             : 0;
}

Result<ProcessStats> ReadStatsUnder(const std::string& directory) {
  Result<std::string> statm = ReadSmallFile(directory + "/statm");
  if (!statm.ok()) return statm.status();
  Result<std::string> stat = ReadSmallFile(directory + "/stat");
  if (!stat.ok()) return stat.status();
  const std::optional<uint64_t> pages = ParseStatmResidentPages(*statm);
  if (!pages)
    return Status(ErrorCode::kInternal, "cannot parse " + directory + "/statm");
  const std::optional<CpuTicks> ticks = ParseStatCpuTicks(*stat);
  const std::optional<char> state = ParseStatState(*stat);
  if (!ticks || !state)
    return Status(ErrorCode::kInternal, "cannot parse " + directory + "/stat");
  static const long page_size = sysconf(_SC_PAGESIZE);
  ProcessStats stats;
  stats.rss_bytes = *pages * static_cast<uint64_t>(page_size);
  stats.cpu_user_ms = TicksToMillis(ticks->user);
  stats.cpu_system_ms = TicksToMillis(ticks->system);
  stats.state = *state;
  return stats;
}

}  // namespace

std::optional<uint64_t> ParseStatmResidentPages(std::string_view statm) {
  size_t position = 0;
  if (!NextNumber(statm, &position)) return std::nullopt;  // size
  return NextNumber(statm, &position);
}

std::optional<CpuTicks> ParseStatCpuTicks(std::string_view stat) {
  const size_t comm_end = stat.rfind(')');
  if (comm_end == std::string_view::npos) return std::nullopt;
  size_t position = comm_end + 1;
  // Fields 3 (state) to 13 (cmajflt) come before utime.
  for (int field = 3; field <= 13; ++field) {
    if (!SkipField(stat, &position)) return std::nullopt;
  }
  CpuTicks ticks;
  const std::optional<uint64_t> user = NextNumber(stat, &position);
  const std::optional<uint64_t> system = NextNumber(stat, &position);
  if (!user || !system) return std::nullopt;
  ticks.user = *user;
  ticks.system = *system;
  return ticks;
}

std::optional<char> ParseStatState(std::string_view stat) {
  const size_t comm_end = stat.rfind(')');
  if (comm_end == std::string_view::npos) return std::nullopt;
  size_t position = comm_end + 1;
  while (position < stat.size() && stat[position] == ' ') ++position;
  if (position >= stat.size()) return std::nullopt;
  return stat[position];
}

Result<ProcessStats> ReadProcessStats(pid_t pid) {
  return ReadStatsUnder("/proc/" + std::to_string(pid));
}

Result<ProcessStats> ReadOwnProcessStats() {
  return ReadStatsUnder("/proc/self");
}

}  // namespace taskpool::daemon
