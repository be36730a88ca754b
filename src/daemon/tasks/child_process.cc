#include "daemon/tasks/child_process.h"
#include "daemon/tasks/child_start.h"
#include "daemon/tasks/job_processes.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "base/unique_fd.h"

namespace taskpool::daemon {
namespace {

using Clock = base::SteadyClock;

// After the command exits and its group is killed, how long to wait for
// the pipes to reach end-of-file. Only a process that left the group (a
// daemonizing grandchild) can hold them longer; it does not hold the task.
constexpr std::chrono::milliseconds kDrainLimit{2000};
// Without a pidfd, how often to look for the command's exit.
constexpr std::chrono::milliseconds kExitPollInterval{20};
constexpr size_t kChunkBytes = 64 * 1024;

// One of the command's output pipes, read up to a cap.
struct OutputSink {
  base::UniqueFd fd;
  size_t cap = 0;
  std::string data;
  bool truncated = false;

  // One read; closes the pipe at end-of-file or on error.
  void ReadSome(char* buffer) {
    const ssize_t n = read(fd.get(), buffer, kChunkBytes);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      fd.reset();
      return;
    }
    const size_t room = cap - std::min(cap, data.size());
    const size_t kept = std::min(room, static_cast<size_t>(n));
    data.append(buffer, kept);
    // The rest is dropped, but still read, so the command never blocks on
    // a full pipe.
    if (kept < static_cast<size_t>(n)) truncated = true;
  }
};

// The command's stdin pipe and what is left to write to it.
struct InputFeed {
  base::UniqueFd fd;
  std::string_view rest;

  // One write; closes the pipe when all is written or the command stopped
  // reading (EPIPE: the rest is dropped, as a shell pipeline would).
  void WriteSome() {
    const ssize_t n = write(fd.get(), rest.data(), std::min(rest.size(), kChunkBytes));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      fd.reset();
      return;
    }
    rest.remove_prefix(static_cast<size_t>(n));
    if (rest.empty()) fd.reset();
  }
};

// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37), so call
// the system call directly. The descriptor is always close-on-exec; -1 on
// kernels before 5.3.
int OpenPidFd(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0u));
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// A started command, pumped until it has exited and its pipes are drained.
class RunningChild {
 public:
  RunningChild(pid_t pid, InputFeed input, OutputSink out, OutputSink err,
               std::chrono::milliseconds timeout, std::function<bool()> cancelled)
      : pid_(pid),
        started_(Clock::now()),
        input_(std::move(input)),
        out_(std::move(out)),
        err_(std::move(err)),
        pidfd_(OpenPidFd(pid)),
        cancel_requested_(std::move(cancelled)) {
    if (timeout.count() > 0) terminate_at_ = started_ + timeout;
    if (input_.rest.empty()) input_.fd.reset();
    for (int fd : {input_.fd.get(), out_.fd.get(), err_.fd.get()}) {
      if (fd >= 0) SetNonBlocking(fd);
    }
  }

  ChildOutcome Run() {
    while (!Finished()) {
      EnforceDeadlines();
      Poll();
      NoticeExit();
    }
    return Reap();
  }

 private:
  bool Finished() const {
    if (!exited_) return false;
    return (!out_.fd.valid() && !err_.fd.valid()) || Clock::now() >= drain_until_;
  }

  void Signal(int signal_number) {
    // The group, and the command itself in case it moved to another group.
    kill(-pid_, signal_number);
    kill(pid_, signal_number);
  }

  // A timeout or a cancellation stops the command alike: SIGTERM, then
  // SIGKILL after the grace period.
  void EnforceDeadlines() {
    if (exited_) return;
    const Clock::time_point now = Clock::now();
    if (!stopping_) {
      if (terminate_at_ && now >= *terminate_at_) {
        timed_out_ = true;
      } else if (cancel_requested_ && cancel_requested_()) {
        cancelled_ = true;
      } else {
        return;
      }
      stopping_ = true;
      Signal(SIGTERM);
      kill_at_ = now + kTerminateGrace;
    } else if (!killed_ && now >= kill_at_) {
      killed_ = true;
      Signal(SIGKILL);
    }
  }

  // How long poll may sleep before a deadline needs attention.
  int PollTimeoutMs() const {
    std::optional<Clock::time_point> next;
    if (exited_) {
      next = drain_until_;
    } else if (!stopping_) {
      next = terminate_at_;
      if (cancel_requested_) {
        const Clock::time_point ask = Clock::now() + kCancelPollInterval;
        next = next ? std::min(*next, ask) : ask;
      }
    } else if (!killed_) {
      next = kill_at_;
    }
    std::chrono::milliseconds wait{-1};
    if (next) {
      wait = std::max(std::chrono::milliseconds(0),
                      std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()));
    }
    if (!exited_ && pidfd_.get() < 0 && (wait.count() < 0 || wait > kExitPollInterval)) {
      wait = kExitPollInterval;
    }
    return static_cast<int>(wait.count());
  }

  void Poll() {
    pollfd fds[4];
    nfds_t count = 0;
    const auto add = [&](const base::UniqueFd& fd, short events) {
      if (fd.valid()) fds[count++] = {fd.get(), events, 0};
    };
    add(input_.fd, POLLOUT);
    add(out_.fd, POLLIN);
    add(err_.fd, POLLIN);
    if (!exited_) add(pidfd_, POLLIN);
    if (poll(fds, count, PollTimeoutMs()) <= 0) return;  // timeout or EINTR
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == input_.fd.get()) input_.WriteSome();
      if (fds[i].fd == out_.fd.get()) out_.ReadSome(buffer_.data());
      if (fds[i].fd == err_.fd.get()) err_.ReadSome(buffer_.data());
    }
  }

  void NoticeExit() {
    if (exited_) return;
    siginfo_t info{};
    // WNOWAIT: the zombie keeps the pid and the group id from being reused
    // until Reap, so signalling them stays safe.
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid == 0) {
      return;
    }
    exited_ = true;
    exited_at_ = Clock::now();
    drain_until_ = exited_at_ + kDrainLimit;
    kill(-pid_, SIGKILL);  // whatever it left behind in its group
    input_.fd.reset();
  }

  ChildOutcome Reap() {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    ChildOutcome outcome;
    if (WIFSIGNALED(status)) {
      outcome.signal = WTERMSIG(status);
      outcome.exit_code = 128 + outcome.signal;
    } else {
      outcome.exit_code = WEXITSTATUS(status);
    }
    outcome.stdout_data = std::move(out_.data);
    outcome.stderr_data = std::move(err_.data);
    outcome.stdout_truncated = out_.truncated;
    outcome.stderr_truncated = err_.truncated;
    outcome.timed_out = timed_out_;
    outcome.cancelled = cancelled_;
    outcome.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(exited_at_ - started_);
    return outcome;
  }

  const pid_t pid_;
  const Clock::time_point started_;
  InputFeed input_;
  OutputSink out_;
  OutputSink err_;
  base::UniqueFd pidfd_;  // -1 where pidfd_open is unavailable: then we poll
  const std::function<bool()> cancel_requested_;
  std::vector<char> buffer_ = std::vector<char>(kChunkBytes);
  std::optional<Clock::time_point> terminate_at_;
  Clock::time_point kill_at_;
  Clock::time_point exited_at_;
  Clock::time_point drain_until_;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool stopping_ = false;  // SIGTERM sent, for a timeout or a cancellation
  bool killed_ = false;
  bool exited_ = false;
};

}  // namespace

Result<ChildOutcome> RunChild(const ChildCommand& command) {
  Result<StartedChild> started = StartChild(command);
  if (!started.ok()) return started.status();
  RunningChild child(
      started->pid, InputFeed{std::move(started->stdin_write), command.stdin_data},
      OutputSink{std::move(started->stdout_read), command.max_output_bytes, {}, false},
      OutputSink{std::move(started->stderr_read), command.max_output_bytes, {}, false},
      command.timeout, command.cancelled);
  ChildOutcome outcome = child.Run();
  // Whatever of the job outlived the command: orphans that left its group
  // came to us, its subreaper.
  EndJob();
  return outcome;
}

}  // namespace taskpool::daemon
