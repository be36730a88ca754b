#include "cli/job_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "cli/output_streams.h"

namespace taskpool::cli {

std::string JobLogHeader() {
  return "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";
}

std::string FormatJobLogLine(const JobLogEntry& entry) {
  char fields[160];
  // parallel prints Starttime with "%.3f" and JobRuntime with "%10.3f".
  std::snprintf(fields, sizeof fields,
                "%" PRIu64 "\t:\t%.3f\t%10.3f\t%" PRIu64 "\t%" PRIu64 "\t%d\t%d\t", entry.seq,
                static_cast<double>(entry.start_unix_us) / 1e6,
                static_cast<double>(entry.runtime_us) / 1e6, entry.send_bytes,
                entry.receive_bytes, entry.exit_value, entry.signal);
  return fields + entry.command + "\n";
}

Result<std::unique_ptr<JobLog>> JobLog::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0 || !WriteAll(fd, JobLogHeader())) {
    const int error = errno;
    if (fd >= 0) close(fd);
    return Status(ErrorCode::kInvalidArgument,
                  "cannot write the joblog '" + path + "': " + std::strerror(error));
  }
  return std::unique_ptr<JobLog>(new JobLog(fd));
}

JobLog::~JobLog() { close(fd_); }

void JobLog::Write(const JobLogEntry& entry) { (void)WriteAll(fd_, FormatJobLogLine(entry)); }

}  // namespace taskpool::cli
