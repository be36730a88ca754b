#include "cli/output_streams.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace taskpool::cli {

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return false;
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return true;
}

OutputStreams::OutputStreams() : stdout_is_terminal_(isatty(STDOUT_FILENO) == 1) {
  pending_.reserve(kFlushBytes);
}

OutputStreams::~OutputStreams() { Flush(); }

void OutputStreams::Out(std::string_view bytes) {
  if (!stdout_ok_) return;
  pending_.append(bytes);
  if (pending_.size() >= kFlushBytes) Flush();
}

void OutputStreams::Err(std::string_view bytes) {
  Flush();
  ClearStatusLine();
  (void)WriteAll(STDERR_FILENO, bytes);
}

void OutputStreams::Flush() {
  if (pending_.empty()) return;
  if (stdout_is_terminal_) ClearStatusLine();
  if (stdout_ok_ && !WriteAll(STDOUT_FILENO, pending_)) {
    stdout_ok_ = false;
    const std::string message =
        std::string("taskpool: cannot write to stdout: ") + std::strerror(errno) + "\n";
    ClearStatusLine();
    (void)WriteAll(STDERR_FILENO, message);
  }
  pending_.clear();
}

void OutputStreams::ClearStatusLine() {
  if (clear_status_line_) clear_status_line_();
}

}  // namespace taskpool::cli
