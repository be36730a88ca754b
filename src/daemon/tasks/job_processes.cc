#include "daemon/tasks/job_processes.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/text_file.h"

namespace taskpool::daemon {
namespace {

// How long EndJob waits for SIGKILLed processes to be reaped: only one in
// uninterruptible sleep (a dead NFS server) takes longer, and it must not
// hold the worker for ever.
constexpr std::chrono::seconds kEndJobLimit{5};
constexpr std::chrono::milliseconds kReapPause{5};

volatile sig_atomic_t current_job_group = 0;

// The process group of `pid` from /proc/PID/stat ("pid (comm) state ppid
// pgrp ..."; comm may hold spaces and parentheses, so parse after the last
// ')'); 0 if it cannot be read.
pid_t ProcessGroupOf(pid_t pid) {
  const std::string stat =
      base::ReadTextFile("/proc/" + std::to_string(pid) + "/stat").value_or("");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 1));
  char state = 0;
  pid_t ppid = 0, pgrp = 0;
  if (!(fields >> state >> ppid >> pgrp)) return 0;
  return pgrp;
}

// `pid` and everything under it, parents before children.
void CollectTree(pid_t pid, std::vector<pid_t>* tree) {
  tree->push_back(pid);
  for (pid_t child : ChildrenOf(pid)) CollectTree(child, tree);
}

// SIGKILLs each of `processes` and its group (never the caller's group).
void KillAll(const std::vector<pid_t>& processes) {
  const pid_t own_group = getpgrp();
  for (pid_t pid : processes) {
    const pid_t group = ProcessGroupOf(pid);
    if (group > 1 && group != own_group) kill(-group, SIGKILL);
    kill(pid, SIGKILL);
  }
}

}  // namespace

bool BecomeChildSubreaper() { return prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }

void SetCurrentJobGroup(pid_t group) { current_job_group = group; }

void KillCurrentJobGroup() {
  const pid_t group = current_job_group;
  if (group > 1 && group != getpgrp()) kill(-group, SIGKILL);
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code error;
  const std::string tasks = "/proc/" + std::to_string(parent) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream list(task.path() / "children");
    for (pid_t child = 0; list >> child;) children.push_back(child);
  }
  return children;
}

void KillDescendantsOf(pid_t root) {
  std::vector<pid_t> tree;
  for (pid_t child : ChildrenOf(root)) CollectTree(child, &tree);
  // All found first, then all killed: killing a parent first would move
  // its children out of the tree we walk.
  KillAll(tree);
}

void EndJob() {
  const base::SteadyTime give_up = base::SteadyClock::now() + kEndJobLimit;
  // Each round kills what is under us now; what a dying process leaves
  // comes to us (we are its subreaper) and is caught by the next round.
  for (;;) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    const pid_t self = getpid();
    if (ChildrenOf(self).empty()) break;
    if (base::SteadyClock::now() >= give_up) {
      TP_LOG(kWarning) << "exec: processes of the job still not gone after "
                       << kEndJobLimit.count() << " s of SIGKILL; leaving them";
      break;
    }
    KillDescendantsOf(self);
    std::this_thread::sleep_for(kReapPause);
  }
  SetCurrentJobGroup(0);
}

void KillStrayChildren(const std::function<bool(pid_t)>& is_ours) {
  std::vector<pid_t> strays;
  for (pid_t child : ChildrenOf(getpid())) {
    if (!is_ours(child)) CollectTree(child, &strays);
  }
  if (strays.empty()) return;
  TP_LOG(kInfo) << "killing " << strays.size()
                << " processes left by a dead worker's shell job";
  KillAll(strays);
}

}  // namespace taskpool::daemon
