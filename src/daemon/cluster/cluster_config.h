// The settings of taskpoold --cluster and the options that set them.
//
// Without --cluster (servers empty) none of the other settings matter and
// the daemon neither starts the cluster agent nor loads libnats.
#pragma once

#include <boost/program_options/options_description.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace taskpool::daemon {

struct ClusterConfig {
  // --cluster: NATS server URLs, tried in order; empty: no cluster.
  std::vector<std::string> servers;
  // --node-name: this daemon's name among the nodes ([A-Za-z0-9_-]).
  std::string node_name;
  // --cluster-queue: names the streams and subjects ([A-Za-z0-9_-]).
  std::string queue = "taskpool";
  std::string creds_file;   // --cluster-creds; "": none
  std::string tls_ca_file;  // --cluster-tls-ca; "": none
  // A fetched task whose node says nothing for this long is redelivered;
  // a running task's node says "in progress" every third of it.
  std::chrono::milliseconds ack_wait{30000};
  // Node heartbeats; a node silent for three intervals counts as gone.
  std::chrono::milliseconds heartbeat{1000};
  uint32_t replicas = 1;  // of the streams, when this node creates them

  bool enabled() const { return !servers.empty(); }
};

// The options as parsed, before Validate turns them into a ClusterConfig.
// Numbers are signed, so "-1" is out of range rather than wrapped.
struct RawClusterOptions {
  std::string servers;
  std::string node_name;
  std::string queue;
  std::string creds_file;
  std::string tls_ca_file;
  int64_t ack_wait_ms = 0;
  int64_t heartbeat_ms = 0;
  int64_t replicas = 0;
};

// Adds --cluster, --node-name, --cluster-queue, --cluster-creds,
// --cluster-tls-ca, --cluster-ack-wait-ms, --cluster-heartbeat-ms and
// --cluster-replicas, storing into `raw`.
void AddClusterOptions(boost::program_options::options_description& options,
                       RawClusterOptions& raw);

// Checks `raw` and fills `config`; returns what is wrong, or "".
std::string ValidateClusterOptions(const RawClusterOptions& raw, ClusterConfig& config);

// The host name made into a node name: characters other than
// [A-Za-z0-9_-] become '-' ("web.example.com" -> "web-example-com").
std::string DefaultNodeName();

}  // namespace taskpool::daemon
