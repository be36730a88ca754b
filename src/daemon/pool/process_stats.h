// Resource use of one process, read from Linux's /proc: resident memory
// from /proc/<pid>/statm, CPU time and the scheduler state from
// /proc/<pid>/stat. Used for the workers' numbers and states in `taskpool
// status`, for --max-worker-rss-mib and for the rolling restart's check on
// a stopped worker.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

struct ProcessStats {
  uint64_t rss_bytes = 0;
  uint64_t cpu_user_ms = 0;
  uint64_t cpu_system_ms = 0;
  // The state letter of /proc/<pid>/stat: 'R' running, 'S' sleeping, 'T'
  // stopped by a signal (SIGSTOP, SIGTSTP), 't' stopped by a tracer, ...
  char state = '?';
  // Stopped, by a signal or a debugger: it runs nothing until SIGCONT.
  bool stopped() const { return state == 'T' || state == 't'; }
};

// Reads `pid`'s numbers. Errors: INTERNAL naming the file, when the
// process is gone (already reaped) or /proc is not mounted.
Result<ProcessStats> ReadProcessStats(pid_t pid);

// The same for the calling process (/proc/self).
Result<ProcessStats> ReadOwnProcessStats();

// The resident page count: the second field of a statm line.
std::optional<uint64_t> ParseStatmResidentPages(std::string_view statm);

struct CpuTicks {
  uint64_t user = 0;
  uint64_t system = 0;
};
// utime and stime (fields 14 and 15, in clock ticks) of a stat line. The
// command name (field 2) is in parentheses and may itself contain spaces
// and parentheses, so fields are counted from the last ')'.
std::optional<CpuTicks> ParseStatCpuTicks(std::string_view stat);

// The state letter (field 3) of a stat line, counted from the last ')' as
// above.
std::optional<char> ParseStatState(std::string_view stat);

}  // namespace taskpool::daemon
