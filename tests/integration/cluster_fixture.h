// For the cluster tests: nats-server processes with JetStream on loopback
// ports and a temporary store, taskpoold nodes joined to them, and ways to
// wait for what the nodes report.
//
// Every process is started by and stopped by its pid; everything listens
// on 127.0.0.1 only.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::testing {

// A port on 127.0.0.1 that was free a moment ago, below the ephemeral
// range (so that neither bind(0) nor an outgoing connection takes it).
int FreeLoopbackPort();

// `nats-server -js -a 127.0.0.1 -p PORT -sd DIR`, optionally one server of
// a JetStream cluster.
class NatsServer {
 public:
  struct Options {
    std::string name;                 // server name (needed in a cluster)
    int cluster_port = 0;             // 0: not clustered
    std::vector<int> route_ports;     // the other servers' cluster ports
  };
  // Starts it and waits until it says it is ready (aborts the test if not
  // within 15 s).
  explicit NatsServer(Options options);
  NatsServer() : NatsServer(Options{}) {}
  // SIGKILLs it if still running and removes its store.
  ~NatsServer();

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::string& name() const { return options_.name; }
  pid_t pid() const { return pid_; }
  std::string log() const;

  // SIGKILL, then wait for the exit.
  void Kill();
  // Starts it again on the same port and store.
  void Restart();

 private:
  enum class StartOutcome { kReady, kPortTaken, kFailed };
  // Start() throws (after ADD_FAILURE) unless the server becomes ready.
  void Start();
  StartOutcome TryStart();

  Options options_;
  int port_ = 0;
  std::string directory_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

// `--cluster URLS` and friends for a node of a test: fast heartbeats (200
// ms: still slow enough that a loaded CI machine, or ASan, does not miss
// three in a row) and the shortest ack wait, so a lost node is noticed
// within about a second. `more` may give its own --cluster-ack-wait-ms and
// --cluster-heartbeat-ms.
std::vector<std::string> ClusterArgs(const std::string& urls, const std::string& node_name,
                                     std::vector<std::string> more = {});

// The daemon's status reply (over a raw connection of its own).
v1::StatusReply StatusOf(const std::string& socket);

// Polls `socket`'s status until `condition` holds; false after `timeout`
// (then records a failure saying `what`).
bool WaitForStatus(const std::string& socket, const std::string& what,
                   const std::function<bool(const v1::StatusReply&)>& condition,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Until the node is connected to NATS and sees `nodes` live nodes.
bool WaitForClusterOf(const std::string& socket, int nodes);

// The test plugin with `hold` (runs until its payload's path exists, or
// until cancelled) and `only_here`.
inline const char* ClusterPluginPath() { return CLUSTER_PLUGIN_PATH; }

// A file whose creation releases every `hold` task waiting on it.
class Release {
 public:
  Release();
  ~Release();
  const std::string& path() const { return path_; }
  void Now();

 private:
  std::string directory_;
  std::string path_;
};

// Three nodes, a, b and c (one worker each), on one nats-server, each
// seeing all three before the test starts.
class ThreeNodeCluster : public ::testing::Test {
 protected:
  void SetUp() override;

  NatsServer nats_;
  std::vector<std::unique_ptr<DaemonProcess>> nodes_;
};

}  // namespace taskpool::testing
