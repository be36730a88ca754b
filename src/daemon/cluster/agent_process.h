// Starts the cluster agent, taskpoold-cluster: the child process that holds
// this daemon's NATS connection.
//
// Why a process of its own: libnats runs threads, and the supervisor must
// stay single-threaded because it forks workers at any time (DESIGN.md,
// "fork() only from a single-threaded process"). In a process of its own,
// libnats is also never mapped into the supervisor, and a supervisor
// without --cluster never even starts it.
//
// The agent gets two sockets: fd 3, the control channel (agent.proto), and
// fd 4, a client connection to this daemon, on which it submits the tasks
// it fetches. It dies with the supervisor (parent-death signal).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/unique_fd.h"
#include "taskpool/status.hpp"

namespace taskpool::cluster {

struct AgentSockets {
  base::UniqueFd control;  // the supervisor's end of the control channel
  base::UniqueFd daemon;   // the daemon's end of the agent's client connection
};

struct SpawnedAgent {
  pid_t pid = -1;
  AgentSockets sockets;
};

// The agent binary: taskpoold-cluster next to this taskpoold (a build
// tree), else in the install's libexec directory.
std::string AgentBinaryPath();

// Creates both socket pairs (O_CLOEXEC) and starts `binary` with the
// agent's ends as fds 3 and 4; returns the supervisor's ends.
Result<SpawnedAgent> SpawnAgent(const std::string& binary);

}  // namespace taskpool::cluster
