#include "cli/terminal_screen.h"

#include <curses.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace taskpool::cli {

namespace {
constexpr int kCtrlC = 3;  // what Ctrl-C reads as in raw mode
}  // namespace

Result<std::unique_ptr<TerminalScreen>> TerminalScreen::Open() {
  // newterm, unlike initscr, returns an error instead of exiting.
  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (screen == nullptr) {
    const char* term = std::getenv("TERM");
    return Status(ErrorCode::kInvalidArgument,
                  std::string("cannot drive this terminal (TERM=") +
                      (term != nullptr ? term : "unset") +
                      "); set TERM to a known terminal type, or pipe the output "
                      "to get plain snapshots");
  }
  // Raw, not cbreak: Ctrl-C is a key to quit on, so the terminal is always
  // restored by the destructor rather than left behind by a signal.
  raw();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  return std::unique_ptr<TerminalScreen>(new TerminalScreen(screen));
}

TerminalScreen::~TerminalScreen() {
  endwin();
  delscreen(screen_);
}

void TerminalScreen::Draw(const std::vector<std::string>& lines) {
  erase();
  const int rows = getmaxy(stdscr);
  const int columns = getmaxx(stdscr);
  for (int row = 0; row < rows && row < static_cast<int>(lines.size()); ++row) {
    mvaddnstr(row, 0, lines[static_cast<size_t>(row)].c_str(), columns);
  }
  refresh();
}

bool TerminalScreen::WaitForQuitKey(std::chrono::milliseconds wait) {
  timeout(static_cast<int>(std::max<int64_t>(wait.count(), 0)));
  const int key = getch();
  return key == 'q' || key == 'Q' || key == kCtrlC;
}

}  // namespace taskpool::cli
