// `taskpool map --joblog FILE`: one line per finished job in GNU
// parallel's joblog format, so the tools that read parallel's logs read
// ours: a header, then tab-separated
//
//   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
//
// Seq is the job's number from 1 ({#}); Host is ":" (parallel's name for
// the local machine: the pool); Starttime is when a worker started it, in
// seconds since the epoch with milliseconds; JobRuntime its run time in
// seconds; Send the bytes of its input, Receive of its output (a shell
// job's stdout plus stderr); Exitval its exit status (a map task: 0 or 1;
// -1 when there is none: the command was killed by a signal, or never
// ran); Signal the signal that killed it; Command what ran.
//
// Each line is written when its job is shown, so `tail -f` follows it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::cli {

struct JobLogEntry {
  uint64_t seq = 0;
  std::chrono::system_clock::time_point start{};  // the epoch: never ran
  std::chrono::microseconds runtime{0};
  uint64_t send_bytes = 0;
  uint64_t receive_bytes = 0;
  int exit_value = 0;
  int signal = 0;
  std::string command = {};
};

// The header line and one entry's line, each with its newline.
std::string JobLogHeader();
std::string FormatJobLogLine(const JobLogEntry& entry);

class JobLog {
 public:
  // Creates (or truncates) `path` and writes the header. Fails naming the
  // file and the system's reason.
  static Result<std::unique_ptr<JobLog>> Open(const std::string& path);

  JobLog(const JobLog&) = delete;
  JobLog& operator=(const JobLog&) = delete;

  void Write(const JobLogEntry& entry);

 private:
  explicit JobLog(base::UniqueFd fd) : fd_(std::move(fd)) {}
  const base::UniqueFd fd_;
};

}  // namespace taskpool::cli
