// taskpoold-cluster: the cluster agent of one taskpoold (see
// daemon/cluster/agent/agent.h). Started only by taskpoold --cluster, with
// its control channel on fd 3 and its client connection on fd 4.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "base/log.h"
#include "base/signals.h"
#include "daemon/cluster/agent/agent.h"

namespace {

constexpr int kControlFd = 3;
constexpr int kDaemonFd = 4;

bool ReadExactly(char* out, size_t size) {
  while (size > 0) {
    const ssize_t got = read(kControlFd, out, size);
    if (got <= 0) return false;
    out += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

// The first control message, read before anything else runs, byte by
// byte up to its end: what follows it belongs to the agent's channel.
bool ReadConfig(taskpool::cluster::v1::AgentConfig* config) {
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    char byte = 0;
    if (shift > 28 || !ReadExactly(&byte, 1)) return false;
    length |= uint64_t{static_cast<unsigned char>(byte) & 0x7fu} << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (length > (16u << 20)) return false;
  std::string body(length, '\0');
  if (!ReadExactly(body.data(), body.size())) return false;
  taskpool::cluster::v1::ToAgent message;
  if (!message.ParseFromString(body) || !message.has_config()) return false;
  *config = message.config();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::string(argv[1]) != "--parent-pid") {
    std::cerr << "taskpoold-cluster is started by taskpoold --cluster, not by hand\n";
    return 2;
  }
  // Die with the supervisor, as its workers do; it may have gone already.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != static_cast<pid_t>(std::atol(argv[2]))) return 1;
  // SIGTERM and SIGINT reach the whole process group from a terminal; the
  // supervisor decides when the agent stops (by closing its channel).
  taskpool::base::IgnoreSignals({SIGPIPE, SIGTERM, SIGINT, SIGHUP});

  taskpool::cluster::v1::AgentConfig config;
  if (!ReadConfig(&config)) {
    std::cerr << "taskpoold-cluster: no configuration from the supervisor\n";
    return 1;
  }
  taskpool::base::SetLogLevel(static_cast<taskpool::base::LogLevel>(config.log_level()));
  taskpool::base::SetLogTag("taskpoold cluster agent");
  taskpool::cluster::Agent agent(std::move(config), kControlFd, kDaemonFd);
  return agent.Run();
}
