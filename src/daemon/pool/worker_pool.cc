#include "daemon/pool/worker_pool.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "base/signals.h"
#include "daemon/tasks/child_process.h"
#include "daemon/tasks/task_registry.h"
#include "daemon/tasks/job_processes.h"
#include "daemon/pool/worker_main.h"

namespace taskpool::daemon {

namespace {

bool HasProcess(const WorkerEntry& entry) {
  return entry.state == WorkerEntry::State::kRunning ||
         entry.state == WorkerEntry::State::kRetiring ||
         entry.state == WorkerEntry::State::kStopping;
}

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

WorkerPool::WorkerPool(const shmq::Segment& segment, const TaskRegistry& registry,
                       uint32_t size, WorkerLimits limits)
    : segment_(segment),
      registry_(registry),
      limits_(limits),
      entries_(RoomFor(size)),
      size_(size) {
  for (uint32_t index = 0; index < entries_.size(); ++index) {
    entries_[index].index = index;
    entries_[index].number = index;
  }
}

Status WorkerPool::StartAll() {
  // A worker that dies however it dies leaves its shell job's processes to
  // us rather than to init, and ReapExited ends them.
  if (!BecomeChildSubreaper()) {
    TP_LOG(kWarning) << "prctl(PR_SET_CHILD_SUBREAPER) failed; shell jobs of a worker that "
                        "dies may outlive it";
  }
  for (uint32_t index = 0; index < size_; ++index) {
    Status status = Fork(entries_[index]);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status WorkerPool::GrowTo(uint32_t size) {
  if (size > max_size()) {
    return Status(ErrorCode::kInvalidArgument,
                  "the queue has room for " + std::to_string(max_size()) + " workers");
  }
  for (uint32_t number = size_; number < size; ++number) {
    const std::optional<uint32_t> spare = SpareIndex();
    if (!spare) return Status(ErrorCode::kInternal, "no spare worker slot to grow into");
    WorkerEntry& entry = entries_[*spare];
    entry.number = number;
    entry.restarts = 0;
    entry.last_exit.clear();
    if (Status forked = Fork(entry); !forked.ok()) return forked;
    size_ = number + 1;
  }
  return Status::Ok();
}

void WorkerPool::ShrinkTo(uint32_t size) {
  for (WorkerEntry& entry : entries_) {
    if (entry.number < size) continue;
    if (entry.state == WorkerEntry::State::kRunning) {
      entry.state = WorkerEntry::State::kRetiring;
      entry.retirement = WorkerEntry::Retirement::kScaledDown;
      kill(entry.pid, SIGTERM);
    } else if (entry.state == WorkerEntry::State::kExited) {
      MakeSpare(entry.index);  // its pending respawn finds it spare and gives up
    }
  }
  size_ = std::min(size_, size);
}

Status WorkerPool::Respawn(uint32_t index) {
  WorkerEntry& entry = entries_.at(index);
  ++entry.restarts;
  return Fork(entry);
}

Result<uint32_t> WorkerPool::Replace(uint32_t index) {
  const std::optional<uint32_t> spare = SpareIndex();
  if (!spare) {
    return Status(ErrorCode::kInternal, "no spare worker slot for a replacement");
  }
  WorkerEntry& replacement = entries_[*spare];
  replacement.number = entries_[index].number;
  replacement.restarts = entries_[index].restarts + 1;
  replacement.last_exit = "replaced by a rolling restart";
  if (Status forked = Fork(replacement); !forked.ok()) return forked;
  WorkerEntry& old = entries_[index];
  old.state = WorkerEntry::State::kRetiring;
  old.retirement = WorkerEntry::Retirement::kReplaced;
  kill(old.pid, SIGTERM);
  return *spare;
}

std::optional<uint32_t> WorkerPool::SpareIndex() const {
  for (const WorkerEntry& entry : entries_) {
    if (entry.state == WorkerEntry::State::kSpare) return entry.index;
  }
  return std::nullopt;
}

Status WorkerPool::Fork(WorkerEntry& entry) {
  pid_t pid;
  const pid_t supervisor = getpid();
  {
    // Until the child has reset the supervisor's handlers (RunWorker does
    // first), a signal would poke the supervisor's signal pipe.
    base::ScopedSignalBlock block;
    pid = fork();
    if (pid == 0) {
      RunWorker(segment_, registry_, {entry.index, entry.number}, limits_, supervisor);
    }
  }
  if (pid < 0) return ErrnoStatus("fork worker " + std::to_string(entry.index), errno);
  entry.pid = pid;
  entry.state = WorkerEntry::State::kRunning;
  entry.retirement = WorkerEntry::Retirement::kNone;
  entry.functions = static_cast<uint32_t>(registry_.size());
  entry.started = base::SteadyClock::now();
  entry.killed_by_daemon = false;
  entry.kill_note.clear();
  TP_LOG(kDebug) << "worker " << entry.index << " started (pid " << pid << ")";
  return Status::Ok();
}

void WorkerPool::ReapExited(const ExitHandler& on_exit) {
  bool worker_exited = false;
  // SIGCHLD notifications merge: loop until nothing more has exited. This
  // also reaps the job processes that came to us (KillStrayChildren).
  for (;;) {
    int wait_status = 0;
    const pid_t pid = waitpid(-1, &wait_status, WNOHANG);
    if (pid <= 0) break;
    for (WorkerEntry& entry : entries_) {
      if (entry.pid != pid || !HasProcess(entry)) continue;
      entry.last_exit = DescribeWaitStatus(wait_status);
      if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
        // Ours, or maybe the kernel's; read the kernel's count either way
        // so that one kill is never taken for the next one's.
        const std::string oom = oom_kills_.NoteIfRose();
        const std::string& note = entry.killed_by_daemon ? entry.kill_note : oom;
        if (!note.empty()) entry.last_exit += ", " + note;
      }
      const WorkerEntry before = entry;
      entry.state = WorkerEntry::State::kExited;
      worker_exited = true;
      on_exit(before, before.last_exit, wait_status);
      break;
    }
  }
  // A dead worker's job processes were reparented to us.
  if (worker_exited) {
    KillStrayChildren([this](pid_t pid) {
      return IsWorkerProcess(pid) || (is_other_child_ && is_other_child_(pid));
    });
  }
}

bool WorkerPool::IsWorkerProcess(pid_t pid) const {
  for (const WorkerEntry& entry : entries_) {
    if (entry.pid == pid && HasProcess(entry)) return true;
  }
  return false;
}

void WorkerPool::MakeSpare(uint32_t index) {
  WorkerEntry& entry = entries_.at(index);
  entry.state = WorkerEntry::State::kSpare;
  entry.pid = 0;
  entry.retirement = WorkerEntry::Retirement::kNone;
}

void WorkerPool::StopAll(int signal_number) {
  for (WorkerEntry& entry : entries_) {
    if (!HasProcess(entry)) continue;
    entry.state = WorkerEntry::State::kStopping;
    // A forced stop ends shell jobs too (see Kill).
    if (signal_number == SIGKILL) KillDescendantsOf(entry.pid);
    kill(entry.pid, signal_number);
  }
}

void WorkerPool::Kill(uint32_t index, std::string note) {
  WorkerEntry& entry = entries_.at(index);
  if (!HasProcess(entry)) return;
  entry.kill_note = std::move(note);
  // A shell job (exec) dies with its worker, but what it started in the
  // background would not: end everything under the worker first.
  KillDescendantsOf(entry.pid);
  entry.killed_by_daemon = true;
  kill(entry.pid, SIGKILL);
}

uint32_t WorkerPool::FunctionsOnEveryWorker() const {
  uint32_t known = static_cast<uint32_t>(registry_.size());
  for (const WorkerEntry& entry : entries_) {
    if (HasProcess(entry)) known = std::min(known, entry.functions);
  }
  return known;
}

size_t WorkerPool::live_count() const {
  size_t count = 0;
  for (const WorkerEntry& entry : entries_) count += HasProcess(entry) ? 1 : 0;
  return count;
}

}  // namespace taskpool::daemon
