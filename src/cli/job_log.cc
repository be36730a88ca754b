#include "cli/job_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
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
                static_cast<double>(base::UnixMicros(entry.start)) / 1e6,
                std::chrono::duration<double>(entry.runtime).count(), entry.send_bytes,
                entry.receive_bytes, entry.exit_value, entry.signal);
  return fields + entry.command + "\n";
}

Result<std::unique_ptr<JobLog>> JobLog::Open(const std::string& path) {
  base::UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!fd || !WriteAll(fd.get(), JobLogHeader())) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot write the joblog '" + path + "': " + std::strerror(errno));
  }
  return std::unique_ptr<JobLog>(new JobLog(std::move(fd)));
}

void JobLog::Write(const JobLogEntry& entry) { (void)WriteAll(fd_.get(), FormatJobLogLine(entry)); }

}  // namespace taskpool::cli
