#include "daemon/cluster/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <vector>

#include "base/signals.h"

extern char** environ;

namespace taskpool::cluster {

namespace {

constexpr char kAgentName[] = "taskpoold-cluster";

// A connected pair of Unix stream sockets, both O_CLOEXEC.
Status SocketPair(base::UniqueFd& ours, base::UniqueFd& theirs) {
  std::array<int, 2> pair = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0) {
    return ErrnoStatus("socketpair for the cluster agent", errno);
  }
  ours.reset(pair[0]);
  theirs.reset(pair[1]);
  return Status::Ok();
}

}  // namespace

std::string AgentBinaryPath() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path beside = self.parent_path() / kAgentName;
    if (std::filesystem::exists(beside, error)) return beside.string();
  }
  return std::string(TASKPOOL_LIBEXECDIR) + "/" + kAgentName;
}

Result<SpawnedAgent> SpawnAgent(const std::string& binary) {
  AgentSockets ours;
  base::UniqueFd control;
  base::UniqueFd daemon;
  if (Status made = SocketPair(ours.control, control); !made.ok()) return made;
  if (Status made = SocketPair(ours.daemon, daemon); !made.ok()) return made;
  // dup2 onto 3 and 4 clears O_CLOEXEC there, so only these two cross exec.
  // The copies above 10 avoid clobbering: a source fd may itself be 3 or 4.
  const base::UniqueFd control_tmp(fcntl(control.get(), F_DUPFD_CLOEXEC, 10));
  if (!control_tmp) return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC) for the cluster agent", errno);
  const base::UniqueFd daemon_tmp(fcntl(daemon.get(), F_DUPFD_CLOEXEC, 10));
  if (!daemon_tmp) return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC) for the cluster agent", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, control_tmp.get(), 3);
  posix_spawn_file_actions_adddup2(&actions, daemon_tmp.get(), 4);
  // Signals the supervisor handles go back to their defaults in the agent,
  // with nothing blocked.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  const sigset_t none = base::SignalSetOf({});
  const sigset_t defaults = base::SignalSetOf({SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE});
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  const std::string parent = std::to_string(getpid());
  std::vector<char*> argv = {const_cast<char*>(binary.c_str()),
                             const_cast<char*>("--parent-pid"),
                             const_cast<char*>(parent.c_str()), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return ErrnoStatus("start the cluster agent " + binary, spawned);
  // The agent's ends close here, in the supervisor, when this returns.
  return SpawnedAgent{pid, std::move(ours)};
}

}  // namespace taskpool::cluster
