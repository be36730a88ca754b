// Connecting: the hello exchange and every way it can fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using testing::FakeDaemon;
using ::testing::HasSubstr;

Status ConnectStatus(
    const std::string& path,
    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  ClientOptions options;
  options.socket_path = path;
  options.connect_timeout = timeout;
  return Client::Connect(options).status();
}

TEST(ConnectTest, MissingSocketIsDaemonNotRunning) {
  const std::string path = testing::UniqueSocketPath();
  const Status status = ConnectStatus(path);
  EXPECT_EQ(status.code(), ErrorCode::kDaemonNotRunning);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("TASKPOOL_SOCKET"));
}

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  return address;
}

// A bound Unix socket at `path`, listening only if `backlog` >= 0.
int BindSocket(const std::string& path, int backlog) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  const sockaddr_un address = AddressOf(path);
  EXPECT_EQ(
      ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)),
      0);
  if (backlog >= 0) {
    EXPECT_EQ(::listen(fd, backlog), 0);
  }
  return fd;
}

// A socket file left behind by a crashed daemon: connect is refused.
TEST(ConnectTest, StaleSocketIsDaemonNotRunning) {
  const std::string path = testing::UniqueSocketPath();
  base::UniqueFd(BindSocket(path, -1)).reset();  // bound, never listened, closed
  EXPECT_EQ(ConnectStatus(path).code(), ErrorCode::kDaemonNotRunning);
  ::unlink(path.c_str());
}

// A daemon that never accepts: once its backlog is full, connecting must
// time out rather than block.
TEST(ConnectTest, FullBacklogTimesOut) {
  const std::string path = testing::UniqueSocketPath();
  const base::UniqueFd listener(BindSocket(path, 0));
  std::vector<base::UniqueFd> fillers;
  for (int i = 0; i < 16; ++i) {
    fillers.emplace_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const sockaddr_un address = AddressOf(path);
    if (::connect(fillers.back().get(), reinterpret_cast<const sockaddr*>(&address),
                  sizeof(address)) != 0) {
      break;  // full
    }
  }
  EXPECT_EQ(ConnectStatus(path, std::chrono::milliseconds(100)).code(),
            ErrorCode::kWaitTimeout);
  ::unlink(path.c_str());
}

TEST(ConnectTest, VersionMismatchIsReported) {
  FakeDaemon daemon({.reject_version = true});
  const Status status = ConnectStatus(daemon.path());
  EXPECT_EQ(status.code(), ErrorCode::kVersionMismatch);
  EXPECT_THAT(status.message(), HasSubstr("version 2"));
}

TEST(ConnectTest, SilentDaemonTimesOut) {
  FakeDaemon daemon({.answer_hello = false});
  EXPECT_EQ(ConnectStatus(daemon.path(), std::chrono::milliseconds(100)).code(),
            ErrorCode::kWaitTimeout);
}

TEST(ConnectTest, HelloReplyFillsServerInfo) {
  FakeDaemon daemon({.workers = 3});
  std::unique_ptr<Client> client = testing::ConnectTo(daemon);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->connected());
  EXPECT_EQ(client->server_info().server_version, "fake-0.1");
  EXPECT_EQ(client->server_info().workers, 3u);
  EXPECT_EQ(client->socket_path(), daemon.path());
}

TEST(ConnectTest, SocketComesFromEnvironmentWhenNotGiven) {
  FakeDaemon daemon;
  ::setenv("TASKPOOL_SOCKET", daemon.path().c_str(), 1);
  Result<std::unique_ptr<Client>> client = Client::Connect();
  ::unsetenv("TASKPOOL_SOCKET");
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->socket_path(), daemon.path());
}

TEST(ConnectTest, StatusAndPingAreAnswered) {
  FakeDaemon daemon({.workers = 2});
  std::unique_ptr<Client> client = testing::ConnectTo(daemon);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->ping().ok());
  Result<PoolStatus> status = client->status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->workers.size(), 2u);
  EXPECT_EQ(status->workers[1].pid, 5001);
  EXPECT_EQ(status->workers[1].state, WorkerState::kIdle);
  EXPECT_EQ(status->daemon_pid, 4999);
  EXPECT_TRUE(client->ping().ok());
}

}  // namespace
}  // namespace taskpool
