// A full-screen terminal for `taskpool top`, through ncurses: draws lines
// of text in place (ncurses sends only what changed, so nothing flickers)
// and reads single keys. Opening saves the terminal's mode; closing (the
// destructor) restores it, also after Ctrl-C, which arrives as a key.
//
// Thread-safety: one screen per process, used from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "taskpool/status.hpp"

typedef struct screen SCREEN;

namespace taskpool::cli {

class TerminalScreen {
 public:
  // Takes over the terminal on stdin/stdout. Fails (INVALID_ARGUMENT, with
  // a message naming $TERM) when the terminal type is unknown.
  // REQUIRES: stdin and stdout are terminals.
  static Result<std::unique_ptr<TerminalScreen>> Open();
  ~TerminalScreen();

  TerminalScreen(const TerminalScreen&) = delete;
  TerminalScreen& operator=(const TerminalScreen&) = delete;

  // Replaces the screen's contents with `lines`, cut to its size.
  void Draw(const std::vector<std::string>& lines);

  // Waits up to `wait` for a key. True if it asks to quit: q, Q, or
  // Ctrl-C. Any other key, or a resize, ends the wait early (the caller
  // refreshes at once).
  bool WaitForQuitKey(std::chrono::milliseconds wait);

 private:
  explicit TerminalScreen(SCREEN* screen) : screen_(screen) {}

  SCREEN* screen_;
};

}  // namespace taskpool::cli
