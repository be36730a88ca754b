#include "cli/input_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace taskpool::cli {

namespace {

Result<std::string> ReadFdAtMost(int fd, const std::string& name, uint64_t limit) {
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot read " + name + ": " + std::strerror(errno));
    }
    if (got == 0) return data;
    data.append(buffer, static_cast<size_t>(got));
    if (data.size() > limit) {
      return Status(ErrorCode::kInvalidArgument, TooLargeMessage(name, limit));
    }
  }
}

}  // namespace

std::string TooLargeMessage(const std::string& name, uint64_t limit) {
  return name + " holds more than the daemon's --max-payload-bytes (" +
         std::to_string(limit) + " bytes)";
}

Result<std::string> ReadStdinAtMost(uint64_t limit) {
  return ReadFdAtMost(STDIN_FILENO, "stdin", limit);
}

Result<std::string> ReadFileAtMost(const std::string& path, uint64_t limit) {
  const base::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot open '" + path + "': " + std::strerror(errno));
  }
  return ReadFdAtMost(fd.get(), "'" + path + "'", limit);
}

}  // namespace taskpool::cli
