// What an idle supervisor keeps mapped. Each library linked into it costs
// RSS (its symbol tables, relocations and relocated data) whether it is
// called or not, so libraries that only workers or only systemd-started
// daemons use are loaded on demand (daemon/lazy_library.h). These tests
// look at /proc/PID/maps, which is exact, rather than at RSS, which moves
// with the build type and sanitizers.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

std::string MapsOf(pid_t pid) {
  return ReadFile("/proc/" + std::to_string(pid) + "/maps");
}

TEST(Footprint, HashingLoadsLibcryptoInTheWorkerOnly) {
  DaemonProcess daemon(2);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  const TaskResult hashed = client->call("sha256", "abc");
  ASSERT_TRUE(hashed.ok()) << hashed.status().ToString();
  EXPECT_EQ(hashed.output,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  const std::string worker_maps = MapsOf(hashed.worker_pid);
  ASSERT_FALSE(worker_maps.empty()) << "worker " << hashed.worker_pid << " gone";
  EXPECT_NE(worker_maps.find("libcrypto"), std::string::npos)
      << "the worker that hashed has no libcrypto mapped: is this check "
         "looking at the right process?";
  EXPECT_EQ(MapsOf(daemon.pid()).find("libcrypto"), std::string::npos)
      << "the supervisor never hashes, yet maps libcrypto";
}

TEST(Footprint, SupervisorNotStartedBySystemdDoesNotMapLibsystemd) {
  if (std::getenv("NOTIFY_SOCKET") != nullptr ||
      std::getenv("LISTEN_FDS") != nullptr) {
    GTEST_SKIP() << "the test runs under systemd; taskpoold would inherit "
                    "$NOTIFY_SOCKET or $LISTEN_FDS and rightly load libsystemd";
  }
  DaemonProcess daemon(2);
  auto client = ConnectTo(daemon.socket_path());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->call("echo", "x").ok());
  const std::string maps = MapsOf(daemon.pid());
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.find("libsystemd"), std::string::npos) << maps;
}

}  // namespace
}  // namespace taskpool::testing
