#include "daemon/cluster/agent_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <vector>

extern char** environ;

namespace taskpool::cluster {

namespace {

constexpr char kAgentName[] = "taskpoold-cluster";

void CloseBoth(std::array<int, 2>& pair) {
  for (int& fd : pair) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
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
  std::array<int, 2> control = {-1, -1};
  std::array<int, 2> daemon = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control.data()) != 0) {
    return ErrnoStatus("socketpair for the cluster agent", errno);
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, daemon.data()) != 0) {
    const int saved = errno;
    CloseBoth(control);
    return ErrnoStatus("socketpair for the cluster agent", saved);
  }
  // dup2 onto 3 and 4 clears O_CLOEXEC there, so only these two cross exec.
  // The order avoids clobbering: a source fd may itself be 3 or 4.
  const int control_tmp = fcntl(control[1], F_DUPFD_CLOEXEC, 10);
  const int daemon_tmp = fcntl(daemon[1], F_DUPFD_CLOEXEC, 10);
  if (control_tmp < 0 || daemon_tmp < 0) {
    const int saved = errno;
    if (control_tmp >= 0) close(control_tmp);
    if (daemon_tmp >= 0) close(daemon_tmp);
    CloseBoth(control);
    CloseBoth(daemon);
    return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC) for the cluster agent", saved);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, control_tmp, 3);
  posix_spawn_file_actions_adddup2(&actions, daemon_tmp, 4);
  // Signals the supervisor handles go back to their defaults in the agent,
  // with nothing blocked.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE}) {
    sigaddset(&defaults, signal_number);
  }
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
  close(control_tmp);
  close(daemon_tmp);
  close(control[1]);
  close(daemon[1]);
  if (spawned != 0) {
    close(control[0]);
    close(daemon[0]);
    return ErrnoStatus("start the cluster agent " + binary, spawned);
  }
  return SpawnedAgent{pid, {control[0], daemon[0]}};
}

}  // namespace taskpool::cluster
