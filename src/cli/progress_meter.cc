#include "cli/progress_meter.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "base/clock.h"
#include "cli/cli_options.h"
#include "cli/output_streams.h"

namespace taskpool::cli {

namespace {

constexpr char kRed[] = "\033[31m";
constexpr char kReset[] = "\033[0m";
constexpr char kEraseToEnd[] = "\033[K";

bool TermIsDumb() {
  const char* term = std::getenv("TERM");
  return term != nullptr && std::string_view(term) == "dumb";
}

bool NoColor() {
  // no-color.org: set and not empty.
  const char* no_color = std::getenv("NO_COLOR");
  return no_color != nullptr && no_color[0] != '\0';
}

std::string Rate(const ProgressCounts& counts) {
  const double seconds = static_cast<double>(counts.elapsed.count()) / 1000.0;
  if (seconds <= 0) return "-/s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f/s", static_cast<double>(counts.done) / seconds);
  return text;
}

// The printable width of `line`: escape sequences take no room.
size_t VisibleWidth(std::string_view line) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\033') {
      while (i < line.size() && line[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(line[i]) & 0xc0) != 0x80) ++width;  // UTF-8 lead bytes
  }
  return width;
}

}  // namespace

std::string FormatClock(std::chrono::milliseconds duration) {
  const int64_t seconds = std::max<int64_t>(duration.count(), 0) / 1000;
  char text[32];
  if (seconds < 3600) {
    std::snprintf(text, sizeof text, "%" PRId64 ":%02" PRId64, seconds / 60, seconds % 60);
  } else {
    std::snprintf(text, sizeof text, "%" PRId64 ":%02" PRId64 ":%02" PRId64, seconds / 3600,
                  seconds % 3600 / 60, seconds % 60);
  }
  return text;
}

std::string RenderProgress(const ProgressCounts& counts, bool color) {
  std::string line = "map: ";
  if (counts.total) {
    const uint64_t total = *counts.total;
    const uint64_t percent = total == 0 ? 100 : counts.done * 100 / total;
    line += std::to_string(counts.done) + "/" + std::to_string(total) + " " +
            std::to_string(percent) + "%";
  } else {
    line += std::to_string(counts.done) + " done";
  }
  line += " | " + Rate(counts) + " | " + std::to_string(counts.in_flight) + " in flight | ";
  const std::string failed = std::to_string(counts.failed) + " failed";
  line += color && counts.failed > 0 ? kRed + failed + kReset : failed;
  line += " | " + FormatClock(counts.elapsed) + " elapsed";
  if (counts.total && counts.done > 0 && counts.done < *counts.total) {
    const auto remaining = counts.elapsed * static_cast<int64_t>(*counts.total - counts.done) /
                           static_cast<int64_t>(counts.done);
    line += " | ETA " + FormatClock(remaining);
  }
  return line;
}

ProgressMode ParseProgressMode(std::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  throw UsageError("--progress takes auto, always or never, not '" + std::string(text) + "'");
}

std::unique_ptr<ProgressMeter> ProgressMeter::Make(ProgressMode mode) {
  const bool dumb = TermIsDumb();
  if (mode == ProgressMode::kNever) return nullptr;
  if (mode == ProgressMode::kAuto && (isatty(STDERR_FILENO) != 1 || dumb)) return nullptr;
  return std::unique_ptr<ProgressMeter>(new ProgressMeter(!dumb, !dumb && !NoColor()));
}

void ProgressMeter::Update(const ProgressCounts& counts) {
  const auto now = base::SteadyClock::now();
  if (visible_ && now - last_draw_ < kRedrawInterval) return;
  Draw(counts);
}

void ProgressMeter::Draw(const ProgressCounts& counts) {
  const std::string line = RenderProgress(counts, color_);
  std::string text = "\r" + line;
  const size_t width = VisibleWidth(line);
  if (escapes_) {
    text += kEraseToEnd;
  } else if (width < drawn_width_) {
    text += std::string(drawn_width_ - width, ' ');  // cover the longer old line
  }
  (void)WriteAll(STDERR_FILENO, text);
  drawn_width_ = width;
  visible_ = true;
  last_draw_ = base::SteadyClock::now();
}

void ProgressMeter::Clear() {
  if (!visible_) return;
  const std::string text =
      escapes_ ? std::string("\r") + kEraseToEnd : "\r" + std::string(drawn_width_, ' ') + "\r";
  (void)WriteAll(STDERR_FILENO, text);
  visible_ = false;
  drawn_width_ = 0;
}

void ProgressMeter::Finish(const ProgressCounts& counts) {
  Draw(counts);
  (void)WriteAll(STDERR_FILENO, "\n");
  visible_ = false;
  drawn_width_ = 0;
}

}  // namespace taskpool::cli
