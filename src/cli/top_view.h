// What `taskpool top` shows, as lines of plain text: a header (daemon,
// queue, totals, settings), a row per worker, a row per function and a row
// per user. Pure formatting, no terminal and no I/O, so it is unit-tested
// on its own; top_command.cc decides where the lines go.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "taskpool/client.hpp"

namespace taskpool::cli {

// The whole view of `status`. Lines carry no newline and may be longer
// than a terminal row (the screen cuts them).
std::vector<std::string> RenderTop(const PoolStatus& status);

// The view while the daemon cannot be reached: the reason, and that top
// keeps trying every `interval`.
std::vector<std::string> RenderUnreachable(const std::string& reason,
                                           std::chrono::milliseconds interval);

// "850 ms", "12.3 s", "5m03s", "2h05m", "3d04h": short and rounded down.
std::string FormatDuration(std::chrono::milliseconds duration);
// "512 B", "12.3 KiB", "120.0 MiB", "1.5 GiB".
std::string FormatBytes(uint64_t bytes);
// A latency: "850 us", "12.3 ms", "1.20 s"; "-" when nothing was measured.
std::string FormatLatency(std::chrono::microseconds latency, uint64_t count);

}  // namespace taskpool::cli
