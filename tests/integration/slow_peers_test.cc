// Slow and greedy peers cannot hold connection slots (issue 15, item 3): a
// hello must come within --hello-timeout-ms, a begun frame must be whole
// within --frame-timeout-ms (trickled bytes do not count as activity for
// --idle-timeout-ms either), and one user holds at most
// --max-connections-per-user connections, shown in status.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

// A ClientMessage frame header announcing a 1000-byte body.
const std::string kHeaderOf1000Bytes = "\xe8\x07";

// Trickles the body of a frame announced by `header`, one byte per 20 ms
// and never all of it, until the daemon answers; returns that answer.
std::optional<v1::ServerMessage> TrickleUntilAnswered(RawConnection& connection) {
  connection.SendBytes(kHeaderOf1000Bytes);
  for (int sent = 0; sent < 999; ++sent) {
    connection.SendBytes("x");
    if (std::optional<v1::ServerMessage> answer = connection.Receive(20)) return answer;
  }
  return std::nullopt;
}

void ExpectClosedWith(const std::optional<v1::ServerMessage>& answer, v1::ErrorCode code,
                      const std::string& naming) {
  ASSERT_TRUE(answer.has_value()) << "the daemon never answered";
  ASSERT_TRUE(answer->has_error()) << answer->DebugString();
  EXPECT_EQ(answer->error().code(), code) << answer->DebugString();
  EXPECT_NE(answer->error().message().find(naming), std::string::npos)
      << answer->error().message();
}

TEST(SlowPeers, ConnectionWithoutHelloIsClosedAtTheHelloTimeout) {
  DaemonProcess daemon(1, {"--hello-timeout-ms", "300"});
  RawConnection greeted(daemon.socket_path());
  ASSERT_TRUE(greeted.Greet());
  RawConnection silent(daemon.socket_path());
  ExpectClosedWith(silent.Receive(30000), v1::IDLE_TIMEOUT, "--hello-timeout-ms");
  EXPECT_TRUE(silent.ClosedByDaemon(30000));
  // Accepted before the silent one, and it said hello: still served.
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(7);
  greeted.Send(ping);
  std::optional<v1::ServerMessage> pong = greeted.Receive(30000);
  ASSERT_TRUE(pong && pong->has_pong());
  EXPECT_EQ(pong->pong().nonce(), 7u);
}

TEST(SlowPeers, TricklingAFrameIsClosedAtTheFrameTimeout) {
  DaemonProcess daemon(1, {"--frame-timeout-ms", "500"});
  RawConnection trickler(daemon.socket_path());
  ASSERT_TRUE(trickler.Greet());
  ExpectClosedWith(TrickleUntilAnswered(trickler), v1::IDLE_TIMEOUT, "--frame-timeout-ms");
  EXPECT_TRUE(trickler.ClosedByDaemon(30000));
  EXPECT_NE(daemon.log().find("is still not complete"), std::string::npos) << daemon.log();
}

TEST(SlowPeers, TrickledBytesDoNotResetTheIdleTimeout) {
  DaemonProcess daemon(1, {"--frame-timeout-ms", "0", "--idle-timeout-ms", "500"});
  RawConnection trickler(daemon.socket_path());
  ASSERT_TRUE(trickler.Greet());
  ExpectClosedWith(TrickleUntilAnswered(trickler), v1::IDLE_TIMEOUT, "--idle-timeout-ms");
}

TEST(SlowPeers, OneUserHoldsAtMostItsShareOfConnections) {
  DaemonProcess daemon(1, {"--max-connections-per-user", "3"});
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(daemon.socket_path()));
    ASSERT_TRUE(open.back()->Greet()) << "connection " << i;
  }
  RawConnection fourth(daemon.socket_path());
  ExpectClosedWith(fourth.Receive(30000), v1::TOO_MANY_CONNECTIONS,
                   "--max-connections-per-user 3");
  EXPECT_TRUE(fourth.ClosedByDaemon(30000));

  // One closes; the CLI's connection is then the third.
  open.pop_back();
  ASSERT_TRUE(WaitFor([&] {
    v1::ClientMessage request;
    request.mutable_status();
    open.front()->Send(request);
    std::optional<v1::ServerMessage> reply = open.front()->Receive(30000);
    return reply && reply->has_status() && reply->status().connections() == 2;
  }));
  const CommandResult table = RunCli(daemon.socket_path(), {"status"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("connections per user (at most 3 each): root 3"), std::string::npos)
      << table.out;
  const CommandResult json = RunCli(daemon.socket_path(), {"--json", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json status = nlohmann::json::parse(json.out);
  EXPECT_EQ(status["max_connections_per_user"], 3);
  ASSERT_EQ(status["connections_per_user"].size(), 1u) << json.out;
  EXPECT_EQ(status["connections_per_user"][0]["connections"], 3);
  EXPECT_EQ(status["listener"]["refused_too_many_for_user"], "1");
}

TEST(SlowPeers, PerUserLimitDefaultsToAQuarterOfMaxConnections) {
  DaemonProcess daemon(1, {"--max-connections", "8"});
  const CommandResult json = RunCli(daemon.socket_path(), {"--json", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out)["max_connections_per_user"], 2);
}

}  // namespace
}  // namespace taskpool::testing
