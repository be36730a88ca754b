// The listener under pressure: out of descriptors it pauses accepting
// instead of spinning, keeps serving its connections and resumes when
// descriptors come back; a peer refused in a loop writes a bounded number
// of log lines. Both are counted in status and metrics.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

// The listener counters, asked over a connection that is already open.
v1::ListenerCounters ListenerCounters(RawConnection& connection) {
  v1::ClientMessage request;
  request.mutable_status();
  connection.Send(request);
  std::optional<v1::ServerMessage> reply = connection.Receive();
  EXPECT_TRUE(reply && reply->has_status());
  return reply && reply->has_status() ? reply->status().listener() : v1::ListenerCounters();
}

TEST(ListenerLimits, OutOfDescriptorsPausesAcceptingAndResumes) {
  DaemonProcess daemon(1);
  RawConnection monitor(daemon.socket_path());
  ASSERT_TRUE(monitor.Greet());

  rlimit original{};
  ASSERT_EQ(prlimit(daemon.pid(), RLIMIT_NOFILE, nullptr, &original), 0);
  // Room for two more connections, then EMFILE.
  const rlimit tight{OpenDescriptors(daemon.pid()) + 2, original.rlim_max};
  ASSERT_EQ(prlimit(daemon.pid(), RLIMIT_NOFILE, &tight, nullptr), 0);

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RawConnection>> waiting;
  for (int i = 0; i < 12; ++i) {
    waiting.push_back(std::make_unique<RawConnection>(daemon.socket_path()));
    waiting.back()->SendHello();
  }
  ASSERT_TRUE(WaitFor([&] { return ListenerCounters(monitor).accept_errors() > 0; }))
      << daemon.log();

  // The connection it already had is still served while accepting fails.
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(7);
  monitor.Send(ping);
  std::optional<v1::ServerMessage> pong = monitor.Receive();
  ASSERT_TRUE(pong && pong->has_pong()) << daemon.log();

  // A paused listener retries a few times a second; a spinning one would
  // have failed millions of times by now. Bound by the time that passed.
  const uint64_t errors = ListenerCounters(monitor).accept_errors();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LE(errors, 20 * seconds + 20) << errors << " accept errors in " << seconds << " s";
  EXPECT_LE(CountOccurrences(daemon.log(), "accept on"), 3u) << daemon.log();

  // Descriptors come back: every waiting peer is served.
  ASSERT_EQ(prlimit(daemon.pid(), RLIMIT_NOFILE, &original, nullptr), 0);
  for (auto& connection : waiting) {
    std::optional<v1::ServerMessage> hello = connection->Receive(30000);
    EXPECT_TRUE(hello && hello->has_hello()) << daemon.log();
  }
}

TEST(ListenerLimits, ARefusedPeerInALoopWritesABoundedLog) {
  DaemonProcess daemon(1, {"--max-connections", "1"});
  RawConnection holder(daemon.socket_path());
  ASSERT_TRUE(holder.Greet());
  constexpr int kAttempts = 2000;
  for (int i = 0; i < kAttempts; ++i) {
    RawConnection refused(daemon.socket_path());
    std::optional<v1::ServerMessage> reply = refused.Receive();
    ASSERT_TRUE(reply && reply->has_error()) << "attempt " << i;
    ASSERT_EQ(reply->error().code(), v1::TOO_MANY_CONNECTIONS);
  }
  EXPECT_EQ(ListenerCounters(holder).refused_too_many(), static_cast<uint64_t>(kAttempts));
  // One line per 10 s interval, however fast the loop ran.
  EXPECT_LE(CountOccurrences(daemon.log(), "refusing connection"), 3u) << daemon.log();
}

}  // namespace
}  // namespace taskpool::testing
