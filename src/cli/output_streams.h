// Where a command's results go: stdout in large buffered writes (a map of a
// million small results must not cost a million write(2) calls), stderr at
// once, after what stdout holds, so a terminal shows both in order. A live
// status line on the terminal (the progress meter) is taken off the screen
// before anything else is written there.
//
// Thread-safety: one thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace taskpool::cli {

class OutputStreams {
 public:
  // Writes are gathered until this many bytes wait.
  static constexpr size_t kFlushBytes = 64 * 1024;

  OutputStreams();
  ~OutputStreams();  // flushes
  OutputStreams(const OutputStreams&) = delete;
  OutputStreams& operator=(const OutputStreams&) = delete;

  void Out(std::string_view bytes);
  // Flushes stdout first.
  void Err(std::string_view bytes);
  // Writes what stdout holds now: before waiting for the daemon, so
  // results show as they arrive.
  void Flush();

  // Called before bytes go to a terminal (stderr, or stdout when it is a
  // terminal), to clear a status line drawn there.
  void OnTerminalWrite(std::function<void()> clear) { clear_status_line_ = std::move(clear); }

  // False once a write to stdout failed (EPIPE: the reader went away);
  // later output is dropped. The failure is reported on stderr once.
  bool ok() const { return stdout_ok_; }

 private:
  void ClearStatusLine();

  std::string pending_;
  const bool stdout_is_terminal_;
  bool stdout_ok_ = true;
  std::function<void()> clear_status_line_;
};

// Writes all of `bytes` to `fd`, resuming after EINTR and partial writes.
// False (errno set) on another error.
bool WriteAll(int fd, std::string_view bytes);

}  // namespace taskpool::cli
