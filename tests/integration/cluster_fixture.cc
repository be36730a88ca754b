#include "tests/integration/cluster_fixture.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "tests/integration/raw_connection.h"

extern char** environ;

namespace taskpool::testing {

namespace {

// The lowest port the kernel hands out for bind(0) and outgoing
// connections (net.ipv4.ip_local_port_range).
int FirstEphemeralPort() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 0;
  return range >> first && first > 2048 ? first : 32768;
}

bool BindsOnLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return bound;
}

}  // namespace

int FreeLoopbackPort() {
  // Below the ephemeral range: a port bind(0) gave out could be given to
  // the next caller, or taken as the local end of an outgoing connection
  // (the servers' route attempts make many), before nats-server binds it.
  static std::mt19937 random(std::random_device{}());
  static const int first_ephemeral = FirstEphemeralPort();
  std::uniform_int_distribution<int> pick(1024 + (first_ephemeral - 1024) / 2,
                                          first_ephemeral - 1);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = pick(random);
    if (BindsOnLoopback(port)) return port;
  }
  ADD_FAILURE() << "no free loopback port below " << first_ephemeral;
  return 0;
}

NatsServer::NatsServer(Options options) : options_(std::move(options)) {
  char pattern[] = "/tmp/taskpool-nats-XXXXXX";
  directory_ = mkdtemp(pattern);
  port_ = FreeLoopbackPort();
  Start();
}

NatsServer::~NatsServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string NatsServer::log() const {
  return ReadFile(directory_ + "/nats-server.log");
}

void NatsServer::Start() {
  // Another test may take a port between FreeLoopbackPort and the bind:
  // then this server takes other ones (the first start only: a restart
  // keeps the ports the others know).
  for (int attempt = 1;; ++attempt) {
    const StartOutcome outcome = TryStart();
    if (outcome == StartOutcome::kReady) return;
    if (outcome == StartOutcome::kPortTaken && starts_ == 0 && attempt < 5) {
      port_ = FreeLoopbackPort();
      if (options_.cluster_port != 0) options_.cluster_port = FreeLoopbackPort();
      continue;
    }
    throw std::runtime_error("nats-server did not start");
  }
}

NatsServer::StartOutcome NatsServer::TryStart() {
  std::vector<std::string> args = {"/usr/sbin/nats-server", "-js", "-a", "127.0.0.1",
                                   "-p", std::to_string(port_), "-sd", directory_ + "/store"};
  if (!options_.name.empty()) args.insert(args.end(), {"-n", options_.name});
  if (options_.cluster_port != 0) {
    args.insert(args.end(), {"--cluster_name", "taskpool-test", "--cluster",
                             "nats://127.0.0.1:" + std::to_string(options_.cluster_port)});
    std::string routes;
    for (int port : options_.route_ports) {
      if (!routes.empty()) routes += ",";
      routes += "nats://127.0.0.1:" + std::to_string(port);
    }
    if (!routes.empty()) args.insert(args.end(), {"--routes", routes});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = directory_ + "/nats-server.log";
  // Each start appends to the log: count "Server is ready" lines from here.
  const size_t log_start = log().size();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ADD_FAILURE() << "cannot start nats-server (install it: scripts/install-deps.sh): "
                  << std::strerror(error);
    return StartOutcome::kFailed;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < until) {
    const std::string text = log().substr(log_start);
    if (text.find("Server is ready") != std::string::npos) {
      ++starts_;
      return StartOutcome::kReady;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (text.find("address already in use") != std::string::npos) {
        return StartOutcome::kPortTaken;
      }
      ADD_FAILURE() << "nats-server exited at start: " << text;
      return StartOutcome::kFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "nats-server not ready within 15 s: " << log();
  return StartOutcome::kFailed;
}

void NatsServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void NatsServer::Restart() {
  Kill();
  Start();
}

std::vector<std::string> ClusterArgs(const std::string& urls, const std::string& node_name,
                                     std::vector<std::string> more) {
  std::vector<std::string> args = {"--cluster", urls, "--node-name", node_name,
                                   "--cluster-queue", "test", "--plugin", ClusterPluginPath()};
  for (const auto& [flag, value] : {std::pair{"--cluster-ack-wait-ms", "1000"},
                                    std::pair{"--cluster-heartbeat-ms", "200"}}) {
    if (std::find(more.begin(), more.end(), flag) == more.end()) {
      args.insert(args.end(), {flag, value});
    }
  }
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

v1::StatusReply StatusOf(const std::string& socket) {
  RawConnection connection(socket);
  if (!connection.Greet()) return {};
  v1::ClientMessage request;
  request.mutable_status();
  connection.Send(request);
  std::optional<v1::ServerMessage> reply = connection.Receive();
  if (!reply || !reply->has_status()) return {};
  return reply->status();
}

bool WaitForStatus(const std::string& socket, const std::string& what,
                   const std::function<bool(const v1::StatusReply&)>& condition,
                   std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  v1::StatusReply last;
  while (std::chrono::steady_clock::now() < until) {
    last = StatusOf(socket);
    if (condition(last)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "waited " << timeout.count() << " ms for " << what
                << "; last status: " << last.ShortDebugString();
  return false;
}

bool WaitForClusterOf(const std::string& socket, int nodes) {
  return WaitForStatus(socket, std::to_string(nodes) + " live nodes",
                       [nodes](const v1::StatusReply& status) {
                         return status.cluster().connected() &&
                                status.cluster().nodes_size() == nodes;
                       });
}

Release::Release() {
  char pattern[] = "/tmp/taskpool-release-XXXXXX";
  directory_ = mkdtemp(pattern);
  path_ = directory_ + "/go";
}

Release::~Release() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void Release::Now() { std::ofstream(path_) << "go\n"; }

void ThreeNodeCluster::SetUp() {
  for (const char* name : {"a", "b", "c"}) {
    nodes_.push_back(std::make_unique<DaemonProcess>(1, ClusterArgs(nats_.url(), name)));
  }
  for (const auto& node : nodes_) ASSERT_TRUE(WaitForClusterOf(node->socket_path(), 3));
}

}  // namespace taskpool::testing
