#include "daemon/pool/worker_main.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "base/proc_status.h"
#include "base/signals.h"
#include "base/text_file.h"
#include "base/unique_fd.h"
#include "shmq/worker_queue.h"
#include "daemon/tasks/chunk_task.h"
#include "daemon/tasks/job_processes.h"
#include "daemon/tasks/memory_limit.h"
#include "daemon/pool/process_title.h"
#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

namespace {

// The supervisor's handlers (installed by Asio) must not run here: they
// would write into the supervisor's signal pipe. Ctrl-C in a terminal
// reaches the whole process group, but stopping is the supervisor's call,
// so workers ignore SIGINT and SIGHUP and keep SIGTERM's default action.
void ResetSignals() {
  base::ResetSignalsToDefaults();
  base::IgnoreSignals({SIGINT, SIGHUP, SIGPIPE});
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
  const base::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd) dup2(null_fd.get(), STDIN_FILENO);
}

// The worker's own resident memory in MiB (anonymous and file pages; 0 if
// /proc cannot tell). Not its shared memory: the queue's pages and clients'
// payload arenas that it mapped are not its to give back, and retiring it
// would not free them.
uint64_t ResidentMib() {
  const std::optional<std::string> status = base::ReadTextFile("/proc/self/status");
  if (!status) return 0;
  const uint64_t kib = base::StatusFieldKib(*status, "RssAnon").value_or(0) +
                       base::StatusFieldKib(*status, "RssFile").value_or(0);
  return kib >> 10;
}

// The exit status to make way for a fresh process with, or 0 to go on.
int RecycleExitCode(const WorkerLimits& limits, uint64_t tasks_done) {
  if (RanOutOfMemory()) {
    TP_LOG(kInfo) << "retiring after a task ran out of memory (--worker-memory-limit-mib "
                  << limits.memory_limit_mib << ")";
    return kWorkerOutOfMemoryExitCode;
  }
  if (limits.max_tasks != 0 && tasks_done >= limits.max_tasks) {
    TP_LOG(kInfo) << "retiring after " << tasks_done << " tasks (--max-tasks-per-worker)";
    return kWorkerRecycledExitCode;
  }
  if (limits.max_rss_mib != 0) {
    const uint64_t rss = ResidentMib();
    if (rss > limits.max_rss_mib) {
      TP_LOG(kInfo) << "retiring with " << rss << " MiB resident (--max-worker-rss-mib "
                    << limits.max_rss_mib << ")";
      return kWorkerRecycledRssExitCode;
    }
  }
  return 0;
}

// One claimed task through the registry; a chunk (the queue's opaque flag,
// set by the router for Submit.chunk) item by item, each restarting the
// run clock the supervisor's per-item timeout reads.
ChunkOutcome RunClaimedTask(shmq::WorkerQueue& queue, const TaskRegistry& registry,
                            const shmq::ClaimedTask& task) {
  const TaskContext context{(uint64_t{task.slot.generation} << 32) | task.slot.index,
                            task.attempt, task.deadline,
                            [&queue, &task] { return queue.CancelRequested(task); }};
  if (!task.flag) return {registry.Run(task.function_index, task.input, context), 1};
  return RunChunk(registry, task.function_index, task.input,
                  {context, task.submission_deadline, task.timeout,
                   [&queue](base::SteadyTime started) {
                     queue.RestartRunClock(started);
                   }});
}

// The worker's process titles. The busy one is formatted again only when
// the function changes, so a run of small tasks costs two memcpy each.
class WorkerTitle {
 public:
  explicit WorkerTitle(uint32_t number)
      : prefix_("taskpoold: worker " + std::to_string(number)), idle_(prefix_ + " (idle)") {}
  void Idle() { SetProcessTitle(idle_); }
  void Busy(const TaskRegistry& registry, uint32_t function_index) {
    if (function_index != busy_function_) {
      busy_function_ = function_index;
      busy_ = prefix_ + " (busy " +
              (function_index < registry.size() ? registry.name(function_index) : "?") + ")";
    }
    SetProcessTitle(busy_);
  }

 private:
  const std::string prefix_;
  const std::string idle_;
  std::string busy_;
  uint32_t busy_function_ = UINT32_MAX;
};

void OnOwnerDied(int) {
  KillCurrentJobGroup();
  _exit(kWorkerFatalExitCode);
}

// If the supervisor dies (even by SIGKILL), the kernel signals us, so an
// orphaned pool never lingers: with a signal we catch rather than SIGKILL,
// so that a running shell job's process group goes with us.
void DieWithParent(pid_t parent) {
  struct sigaction action {};
  action.sa_handler = OnOwnerDied;
  sigemptyset(&action.sa_mask);
  sigaction(kOwnerDiedSignal, &action, nullptr);
  prctl(PR_SET_PDEATHSIG, kOwnerDiedSignal);
  // The parent may have died before prctl took effect.
  if (getppid() != parent) _exit(kWorkerFatalExitCode);
  // A job process whose parent exits comes to us, not to init, so that
  // EndJob can reach it whatever group or session it moved to.
  if (!BecomeChildSubreaper()) {
    TP_LOG(kWarning) << "prctl(PR_SET_CHILD_SUBREAPER) failed; a shell job's orphans may "
                        "outlive it";
  }
}

}  // namespace

void RunWorker(const shmq::Segment& segment, const TaskRegistry& registry,
               WorkerIdentity identity, const WorkerLimits& limits, pid_t supervisor) {
  const uint32_t worker_index = identity.index;
  WorkerTitle title(identity.number);
  title.Idle();
  ResetSignals();
  DieWithParent(supervisor);
  CloseInheritedDescriptors();
  base::SetLogTag("worker " + std::to_string(worker_index) + " [" +
            std::to_string(getpid()) + "]");
  shmq::WorkerQueue queue(segment, worker_index, getpid());

  // Before any plugin code runs: the hooks are bound by it too.
  if (Status limited = ApplyWorkerMemoryLimit(limits.memory_limit_mib); !limited.ok()) {
    TP_LOG(kError) << limited.message() << "; this worker cannot start";
    _exit(kWorkerFatalExitCode);
  }

  // Plugins' on_worker_start hooks (Pool's initializer). A worker whose
  // set-up failed cannot run tasks; the fatal code keeps the supervisor
  // from respawning it in a loop.
  if (Status status = registry.RunWorkerStartHooks(); !status.ok()) {
    TP_LOG(kError) << status.message() << "; this worker cannot start";
    _exit(kWorkerFatalExitCode);
  }

  // SIGTERM (retire) may act only while idle; see the header.
  const sigset_t idle_mask = base::SignalSetOf({});
  const sigset_t busy_mask = base::SignalSetOf({SIGTERM});
  sigprocmask(SIG_SETMASK, &busy_mask, nullptr);

  uint64_t tasks_done = 0;
  for (;;) {
    std::optional<shmq::ClaimedTask> task = queue.WaitAndClaim(&idle_mask);
    if (!task) continue;  // interrupted by a signal
    title.Busy(registry, task->function_index);
    const ChunkOutcome ran = RunClaimedTask(queue, registry, *task);
    queue.Complete(*task, ran.outcome.code, ran.outcome.data, ran.items);
    tasks_done += ran.items;
    title.Idle();
    if (const int exit_code = RecycleExitCode(limits, tasks_done); exit_code != 0) {
      if (Status status = registry.RunWorkerExitHooks(); !status.ok()) {
        TP_LOG(kError) << status.message();
      }
      _exit(exit_code);
    }
  }
}

}  // namespace taskpool::daemon
