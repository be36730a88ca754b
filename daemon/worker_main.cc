#include "daemon/worker_main.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/task_queue.h"
#include "daemon/task_registry.h"

namespace taskpool {

namespace {

// The supervisor's handlers (installed by Asio) must not run here: they
// would write into the supervisor's signal pipe. Ctrl-C in a terminal
// reaches the whole process group, but stopping is the supervisor's call,
// so workers ignore SIGINT and SIGHUP and keep SIGTERM's default action.
void ResetSignals() {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    sigaction(signal_number, &action, nullptr);  // fails harmlessly for KILL/STOP
  }
  action.sa_handler = SIG_IGN;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  sigaction(SIGPIPE, &action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// A plain fork() keeps every descriptor, CLOEXEC or not. A worker holding
// a client socket would keep that client from ever seeing end-of-file, so
// close everything but stdio and the queue's eventfds.
void CloseInheritedDescriptors() {
  std::vector<int> to_close;
  DIR* directory = opendir("/proc/self/fd");
  if (directory == nullptr) return;
  const int directory_fd = dirfd(directory);
  while (dirent* entry = readdir(directory)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= STDERR_FILENO || fd == directory_fd) continue;
    char target[64] = {};
    const std::string link = "/proc/self/fd/" + std::string(entry->d_name);
    const ssize_t length = readlink(link.c_str(), target, sizeof target - 1);
    if (length > 0 && std::strcmp(target, "anon_inode:[eventfd]") == 0) continue;
    to_close.push_back(fd);
  }
  closedir(directory);
  for (int fd : to_close) close(fd);

  // Task code must not consume the daemon's stdin.
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    close(null_fd);
  }
}

// If the supervisor dies (even by SIGKILL), the kernel kills us too, so an
// orphaned pool never lingers.
void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before prctl took effect.
  if (getppid() != parent) _exit(kWorkerFatalExitCode);
}

}  // namespace

void RunWorker(TaskQueue& queue, const TaskRegistry& registry,
               uint32_t worker_index) {
  const pid_t parent = getppid();
  ResetSignals();
  DieWithParent(parent);
  CloseInheritedDescriptors();
  SetLogTag("worker " + std::to_string(worker_index) + " [" +
            std::to_string(getpid()) + "]");
  queue.AttachWorker(worker_index, getpid());

  for (;;) {
    std::optional<ClaimedTask> task = queue.WaitAndClaim(worker_index);
    if (!task) continue;  // interrupted by a signal
    TaskOutcome outcome = registry.Run(task->function_index, task->input);
    queue.Complete(worker_index, *task, outcome.code, outcome.data);
  }
}

}  // namespace taskpool
