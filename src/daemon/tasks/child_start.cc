#include "daemon/tasks/child_start.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "base/signals.h"
#include "daemon/tasks/job_processes.h"

namespace taskpool::daemon {
namespace {

// What glibc's execvp searches when PATH is unset (confstr _CS_PATH).
constexpr char kDefaultPath[] = "/bin:/usr/bin";

struct Pipe {
  base::UniqueFd read_end;
  base::UniqueFd write_end;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("exec: pipe2", errno);
  return Pipe{base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

// What the child writes to the report pipe when it fails before exec.
struct StartFailure {
  enum Stage : int { kSetup, kChdir, kExec } stage;
  int error;
};

// Everything the child needs, built before fork: after it, the child may
// only make async-signal-safe calls (no allocation).
struct ChildSetup {
  pid_t parent = 0;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<std::string> candidates;  // paths to try execve on, in order
  const char* cwd = nullptr;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1, report_fd = -1;
};

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

std::string SearchPath(const std::vector<std::string>& env) {
  std::string path = kDefaultPath;
  for (const std::string& entry : env) {
    if (entry.starts_with("PATH=")) path = entry.substr(5);
  }
  return path;
}

// The execvp search, done by hand so it follows the command's PATH rather
// than the worker's.
std::vector<std::string> ExecCandidates(const std::string& program,
                                        const std::string& search_path) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> candidates;
  size_t start = 0;
  for (;;) {
    const size_t colon = search_path.find(':', start);
    std::string directory = search_path.substr(start, colon - start);
    if (directory.empty()) directory = ".";  // POSIX: the current directory
    candidates.push_back(directory + "/" + program);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return candidates;
}

[[noreturn]] void ReportAndExit(int report_fd, StartFailure::Stage stage, int error) {
  const StartFailure failure{stage, error};
  // Nothing useful to do if this fails: the parent then sees a plain exit 127.
  [[maybe_unused]] ssize_t written = write(report_fd, &failure, sizeof failure);
  _exit(127);
}

// Runs in the forked child: async-signal-safe calls only.
[[noreturn]] void BecomeCommand(const ChildSetup& setup) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != setup.parent) _exit(127);  // the worker died already

  // Ignored signals stay ignored across exec, and the worker ignores
  // SIGINT, SIGHUP and SIGPIPE and blocks SIGTERM while busy; the command
  // must start from the defaults like any program would.
  base::ResetSignalsToDefaults();

  if (dup2(setup.stdin_fd, STDIN_FILENO) < 0 || dup2(setup.stdout_fd, STDOUT_FILENO) < 0 ||
      dup2(setup.stderr_fd, STDERR_FILENO) < 0) {
    ReportAndExit(setup.report_fd, StartFailure::kSetup, errno);
  }
  // Our own descriptors are CLOEXEC already; this catches any a plugin
  // opened without it. The report pipe stays usable until exec.
  close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);

  if (setup.cwd != nullptr && chdir(setup.cwd) != 0) {
    ReportAndExit(setup.report_fd, StartFailure::kChdir, errno);
  }
  // As execvp: EACCES from one PATH entry is remembered while later ones
  // are tried; "not found" in all of them is ENOENT.
  int error = ENOENT;
  bool denied = false;
  for (const std::string& candidate : setup.candidates) {
    execve(candidate.c_str(), setup.argv.data(), setup.envp.data());
    error = errno;
    if (error == EACCES) {
      denied = true;
    } else if (error != ENOENT && error != ENOTDIR && error != ESTALE) {
      break;
    }
  }
  ReportAndExit(setup.report_fd, StartFailure::kExec, denied ? EACCES : error);
}

std::string Quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

Status DescribeStartFailure(const ChildCommand& command, const StartFailure& failure) {
  const std::string program = Quoted(command.argv.front());
  switch (failure.stage) {
    case StartFailure::kChdir:
      return ErrnoStatus("cannot run " + program + ": working directory " +
                             Quoted(command.cwd),
                         failure.error, ErrorCode::kTaskFailed);
    case StartFailure::kExec: {
      Status status = ErrnoStatus("cannot run " + program, failure.error,
                                  ErrorCode::kTaskFailed);
      if (command.argv.front().find('/') != std::string::npos) return status;
      return Status(status.code(), status.message() + " (searched PATH=" +
                                       SearchPath(command.env) + ")");
    }
    case StartFailure::kSetup:
      break;
  }
  return ErrnoStatus("cannot run " + program + ": setting up its stdio",
                     failure.error, ErrorCode::kInternal);
}

}  // namespace

Result<StartedChild> StartChild(const ChildCommand& command) {
  Result<Pipe> stdin_pipe = MakePipe();
  if (!stdin_pipe.ok()) return stdin_pipe.status();
  Result<Pipe> stdout_pipe = MakePipe();
  if (!stdout_pipe.ok()) return stdout_pipe.status();
  Result<Pipe> stderr_pipe = MakePipe();
  if (!stderr_pipe.ok()) return stderr_pipe.status();
  Result<Pipe> report_pipe = MakePipe();
  if (!report_pipe.ok()) return report_pipe.status();

  ChildSetup setup;
  setup.parent = getpid();
  setup.argv = CStrings(command.argv);
  setup.envp = CStrings(command.env);
  setup.candidates = ExecCandidates(command.argv.front(), SearchPath(command.env));
  setup.cwd = command.cwd.empty() ? nullptr : command.cwd.c_str();
  setup.stdin_fd = stdin_pipe->read_end.get();
  setup.stdout_fd = stdout_pipe->write_end.get();
  setup.stderr_fd = stderr_pipe->write_end.get();
  setup.report_fd = report_pipe->write_end.get();

  pid_t pid;
  {
    // The command resets every signal first thing (BecomeCommand).
    base::ScopedSignalBlock block;
    pid = fork();
    if (pid == 0) BecomeCommand(setup);
  }
  if (pid < 0) return ErrnoStatus("exec: fork", errno);

  // Also here, so the group exists before we could signal it.
  setpgid(pid, pid);
  // From now on a death of the supervisor ends this job's group too.
  SetCurrentJobGroup(pid);
  stdin_pipe->read_end.reset();
  stdout_pipe->write_end.reset();
  stderr_pipe->write_end.reset();
  report_pipe->write_end.reset();

  // End-of-file here means exec succeeded (the pipe is CLOEXEC).
  StartFailure failure{};
  ssize_t n;
  do {
    n = read(report_pipe->read_end.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    SetCurrentJobGroup(0);
    return DescribeStartFailure(command, failure);
  }
  return StartedChild{pid, std::move(stdin_pipe->write_end), std::move(stdout_pipe->read_end),
                      std::move(stderr_pipe->read_end)};

}

}  // namespace taskpool::daemon
