#include "daemon/serve/connections_per_user.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

TEST(ConnectionsPerUserTest, RefusesPastTheLimitNamingTheOption) {
  ConnectionsPerUser connections(2);
  EXPECT_TRUE(connections.Admit(1000).ok());
  EXPECT_TRUE(connections.Admit(1000).ok());
  const Status refused = connections.Admit(1000);
  EXPECT_EQ(refused.code(), ErrorCode::kTooManyConnections);
  EXPECT_NE(refused.message().find("--max-connections-per-user 2"), std::string::npos);
  EXPECT_TRUE(connections.Admit(1001).ok()) << "another user has its own share";
  EXPECT_EQ(connections.by_user().at(1000), 2u);
}

TEST(ConnectionsPerUserTest, ReleaseMakesRoomAndForgetsUsersWithNone) {
  ConnectionsPerUser connections(1);
  EXPECT_TRUE(connections.Admit(7).ok());
  connections.Release(7);
  EXPECT_TRUE(connections.by_user().empty());
  EXPECT_TRUE(connections.Admit(7).ok());
}

}  // namespace
}  // namespace taskpool::daemon
