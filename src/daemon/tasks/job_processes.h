// Every process of a shell job (`exec`) ends with what owns the job.
//
// A job is the command and everything it starts. The command leads its own
// process group (child_start.cc), and the worker running it is a child
// subreaper (PR_SET_CHILD_SUBREAPER): a job process whose parent exits is
// reparented to the worker, not to init, so it stays within reach whatever
// group or session it moved to. The paths that end a job, and who ends it:
//
//  * the command exits, times out or is cancelled (with or without kill;
//    its client went away): the worker, in EndJob, kills the group and
//    every process left under it, and reaps them;
//  * the supervisor kills the worker (a timeout or a cancel with kill, a
//    forced shutdown): it first kills everything under the worker
//    (KillDescendantsOf);
//  * the worker dies otherwise (OOM killer, kill -9): the command dies of
//    its parent-death signal, and what it started is reparented to the
//    supervisor, a subreaper too, which kills such strays when it reaps
//    the worker (KillStrayChildren);
//  * the supervisor dies, even by SIGKILL: the worker's parent-death
//    signal is kOwnerDiedSignal, whose handler kills the current job's
//    group before the worker exits (KillCurrentJobGroup).
//
// What can still escape: on that last path only the job's process group is
// reachable, so a process that made itself a new session or group
// (setsid, setpgid) and whose ancestors died survives the supervisor's
// SIGKILL; on every path, so does a process started by someone else on
// the job's behalf (at, systemd-run, a D-Bus activated service). Under
// the shipped unit (KillMode=mixed), systemd SIGKILLs whatever is left in
// the service's cgroup once the daemon has exited or died, which closes
// the first gap; only a process started outside that cgroup escapes.
//
// No group is ever signalled that is the caller's own (a job process may
// join it with setpgid): that would kill the supervisor and its workers.
//
// Thread-safety: plain functions; KillCurrentJobGroup is async-signal-safe.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <vector>

namespace taskpool::daemon {

// The worker's parent-death signal (prctl PR_SET_PDEATHSIG): catchable,
// unlike SIGKILL, so the worker can end its job first.
inline constexpr int kOwnerDiedSignal = SIGUSR2;

// Makes the calling process a child subreaper. False if the kernel refused.
bool BecomeChildSubreaper();

// The job whose group KillCurrentJobGroup kills: set once the command is
// forked, cleared when EndJob has run. 0: none.
void SetCurrentJobGroup(pid_t group);
// SIGKILLs the current job's group, if any. Async-signal-safe: for the
// handler of kOwnerDiedSignal.
void KillCurrentJobGroup();

// In the worker, after its command has been reaped (RunChild killed the
// command's group while the command's zombie still held its id): kills
// every process still under the calling process (the job's orphans,
// reparented to it as subreaper, whatever their group or session) and
// reaps them all, for at most a few seconds; then clears the current job.
// REQUIRES: the caller's only children are job processes.
void EndJob();

// The children of `parent` (every thread's), from /proc.
std::vector<pid_t> ChildrenOf(pid_t parent);

// SIGKILLs every process under `root` (not `root` itself), with the
// process group of each, except groups the caller belongs to.
void KillDescendantsOf(pid_t root);

// In the supervisor: kills every child of the calling process for which
// `is_ours` is false (job processes reparented to it), and everything under
// them; the reap loop collects them.
void KillStrayChildren(const std::function<bool(pid_t)>& is_ours);

}  // namespace taskpool::daemon
