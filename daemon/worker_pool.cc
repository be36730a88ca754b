#include "daemon/worker_pool.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "daemon/worker_main.h"

namespace taskpool {

namespace {

// Blocks the signals the supervisor handles for the duration of a fork, so
// the child cannot receive one before it has reset the handlers it
// inherited (those would poke the supervisor's signal pipe).
class ScopedSignalBlock {
 public:
  ScopedSignalBlock() {
    sigset_t blocked;
    sigfillset(&blocked);
    sigprocmask(SIG_BLOCK, &blocked, &saved_);
  }
  ~ScopedSignalBlock() { sigprocmask(SIG_SETMASK, &saved_, nullptr); }

 private:
  sigset_t saved_;
};

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    const int signal_number = WTERMSIG(wait_status);
    const char* abbreviation = sigabbrev_np(signal_number);
    std::string cause = "killed by signal " + std::to_string(signal_number);
    if (abbreviation != nullptr) cause += std::string(" (SIG") + abbreviation + ")";
    if (WCOREDUMP(wait_status)) cause += ", core dumped";
    return cause;
  }
  if (WIFEXITED(wait_status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  }
  return "ended with wait status " + std::to_string(wait_status);
}

WorkerPool::WorkerPool(TaskQueue& queue, const TaskRegistry& registry,
                       uint32_t size)
    : queue_(queue), registry_(registry), entries_(size) {
  for (uint32_t index = 0; index < size; ++index) entries_[index].index = index;
}

Status WorkerPool::StartAll() {
  for (WorkerEntry& entry : entries_) {
    Status status = Fork(entry);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status WorkerPool::Respawn(uint32_t index) {
  WorkerEntry& entry = entries_.at(index);
  ++entry.restarts;
  return Fork(entry);
}

Status WorkerPool::Fork(WorkerEntry& entry) {
  pid_t pid;
  {
    ScopedSignalBlock block;
    pid = fork();
    if (pid == 0) RunWorker(queue_, registry_, entry.index);  // never returns
  }
  if (pid < 0) return ErrnoStatus("fork worker " + std::to_string(entry.index), errno);
  entry.pid = pid;
  entry.state = WorkerEntry::State::kRunning;
  entry.started = std::chrono::steady_clock::now();
  TP_LOG(kDebug) << "worker " << entry.index << " started (pid " << pid << ")";
  return Status::Ok();
}

void WorkerPool::ReapExited(const ExitHandler& on_exit) {
  // SIGCHLD notifications merge: loop until nothing more has exited.
  for (;;) {
    int wait_status = 0;
    const pid_t pid = waitpid(-1, &wait_status, WNOHANG);
    if (pid <= 0) return;
    for (WorkerEntry& entry : entries_) {
      if (entry.pid != pid || entry.state == WorkerEntry::State::kExited) continue;
      entry.state = WorkerEntry::State::kExited;
      entry.last_exit = DescribeWaitStatus(wait_status);
      on_exit(entry.index, entry.last_exit, wait_status);
      break;
    }
  }
}

void WorkerPool::SignalAll(int signal_number) {
  for (WorkerEntry& entry : entries_) {
    if (entry.state == WorkerEntry::State::kExited) continue;
    entry.state = WorkerEntry::State::kStopping;
    kill(entry.pid, signal_number);
  }
}

void WorkerPool::Signal(uint32_t index, int signal_number) {
  WorkerEntry& entry = entries_.at(index);
  if (entry.state != WorkerEntry::State::kExited) kill(entry.pid, signal_number);
}

size_t WorkerPool::live_count() const {
  size_t count = 0;
  for (const WorkerEntry& entry : entries_) {
    if (entry.state != WorkerEntry::State::kExited) ++count;
  }
  return count;
}

}  // namespace taskpool
