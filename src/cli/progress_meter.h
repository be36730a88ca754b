// `taskpool map --progress`: one live line on stderr saying how far a map
// has come, like parallel's --bar or pv:
//
//   map: 120/200 60% | 45.2/s | 8 in flight | 2 failed | 0:02 elapsed | ETA 0:01
//
// "120 done" instead of "120/200 60%" (and no ETA) when the number of
// inputs is not known up front (stdin, --arg-file). "In flight" counts
// inputs submitted and not yet shown: queued in the daemon, running, or
// done and waiting for an earlier one to be shown first.
//
// The line is redrawn in place at most every kRedrawInterval, with "\r"
// and an erase-to-end-of-line; TERM=dumb gets no escape sequence (the line
// is padded with spaces instead); the failed count is red unless NO_COLOR
// is set or TERM=dumb. It never touches stdout.
//
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace taskpool::cli {

struct ProgressCounts {
  uint64_t done = 0;  // shown, failed ones included
  uint64_t failed = 0;
  uint64_t in_flight = 0;
  std::optional<uint64_t> total = std::nullopt;
  std::chrono::milliseconds elapsed{0};
};

// The line, without "\r" or newline. `color`: the failed count in red.
std::string RenderProgress(const ProgressCounts& counts, bool color);

// "0:07", "12:34", "1:02:03".
std::string FormatClock(std::chrono::milliseconds duration);

enum class ProgressMode { kAuto, kAlways, kNever };

// "auto", "always", "never"; throws UsageError otherwise.
ProgressMode ParseProgressMode(std::string_view text);

class ProgressMeter {
 public:
  static constexpr std::chrono::milliseconds kRedrawInterval{100};

  // A meter drawing on stderr, or null when `mode` says not to: kNever;
  // kAuto unless stderr is a terminal and TERM is not "dumb".
  static std::unique_ptr<ProgressMeter> Make(ProgressMode mode);

  // Redraws if kRedrawInterval has passed since the last draw (or nothing
  // was drawn yet, or the line was cleared).
  void Update(const ProgressCounts& counts);
  // Takes the line off the screen (before other output goes there).
  void Clear();
  // Draws the final state and ends the line, so it stays on the screen.
  void Finish(const ProgressCounts& counts);

 private:
  ProgressMeter(bool escapes, bool color) : escapes_(escapes), color_(color) {}
  void Draw(const ProgressCounts& counts);

  const bool escapes_;  // not TERM=dumb: erase with ESC[K
  const bool color_;
  bool visible_ = false;
  size_t drawn_width_ = 0;  // printable width of the line on screen
  base::SteadyTime last_draw_{};
};

}  // namespace taskpool::cli
