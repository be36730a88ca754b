#include "daemon/cluster/cluster_config.h"

#include <gtest/gtest.h>

namespace taskpool::daemon {
namespace {

RawClusterOptions Defaults() {
  RawClusterOptions raw;
  raw.queue = "taskpool";
  raw.ack_wait_ms = 30000;
  raw.heartbeat_ms = 1000;
  raw.replicas = 1;
  return raw;
}

TEST(ClusterConfig, WithoutClusterNothingIsEnabled) {
  ClusterConfig config;
  EXPECT_EQ(ValidateClusterOptions(Defaults(), config), "");
  EXPECT_FALSE(config.enabled());
}

TEST(ClusterConfig, UrlsAreSplitOnCommas) {
  RawClusterOptions raw = Defaults();
  raw.servers = "nats://127.0.0.1:4222,tls://user:secret@127.0.0.1:4223";
  raw.node_name = "n1";
  ClusterConfig config;
  EXPECT_EQ(ValidateClusterOptions(raw, config), "");
  EXPECT_TRUE(config.enabled());
  ASSERT_EQ(config.servers.size(), 2u);
  EXPECT_EQ(config.servers[1], "tls://user:secret@127.0.0.1:4223");
  EXPECT_EQ(config.node_name, "n1");
}

TEST(ClusterConfig, BadValuesSayWhatIsWrong) {
  ClusterConfig config;
  RawClusterOptions raw = Defaults();
  raw.servers = "127.0.0.1:4222";
  EXPECT_NE(ValidateClusterOptions(raw, config).find("nats://HOST:PORT"), std::string::npos);
  raw = Defaults();
  raw.node_name = "a.b";
  EXPECT_NE(ValidateClusterOptions(raw, config).find("--node-name"), std::string::npos);
  raw = Defaults();
  raw.queue = "q*";
  EXPECT_NE(ValidateClusterOptions(raw, config).find("--cluster-queue"), std::string::npos);
  raw = Defaults();
  raw.ack_wait_ms = 10;
  EXPECT_NE(ValidateClusterOptions(raw, config).find("--cluster-ack-wait-ms"), std::string::npos);
  raw = Defaults();
  raw.replicas = 7;
  EXPECT_NE(ValidateClusterOptions(raw, config).find("--cluster-replicas"), std::string::npos);
}

TEST(ClusterConfig, TheDefaultNodeNameIsTheHostNameMadeSafe) {
  const std::string name = DefaultNodeName();
  EXPECT_FALSE(name.empty());
  EXPECT_EQ(name.find('.'), std::string::npos);
}

}  // namespace
}  // namespace taskpool::daemon
