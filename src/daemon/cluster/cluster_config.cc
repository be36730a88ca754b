#include "daemon/cluster/cluster_config.h"

#include <unistd.h>

#include <boost/program_options.hpp>

#include <array>

namespace po = boost::program_options;

namespace taskpool::daemon {

namespace {

bool IsNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

// Names become subject tokens and stream or consumer names: NATS forbids
// '.', '*', '>' and whitespace there; we keep to a set that is safe in all.
bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!IsNameCharacter(c)) return false;
  }
  return true;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

}  // namespace

std::string DefaultNodeName() {
  std::array<char, 256> host {};
  if (gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') return "node";
  std::string name(host.data());
  for (char& c : name) {
    if (!IsNameCharacter(c)) c = '-';
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

void AddClusterOptions(po::options_description& options, RawClusterOptions& raw) {
  options.add_options()
      ("cluster", po::value(&raw.servers)->value_name("URLS"),
       "join a cluster of taskpoold nodes sharing one NATS JetStream work "
       "queue: comma-separated nats://[USER:PASSWORD@|TOKEN@]HOST:PORT URLs "
       "(tls:// for TLS); tasks beyond this node's free workers go to the "
       "queue and idle nodes fetch them (README, Running on several machines)")
      ("node-name", po::value(&raw.node_name)->value_name("NAME"),
       "this node's name in the cluster, [A-Za-z0-9_-] (default: the host "
       "name, other characters made '-')")
      ("cluster-queue", po::value(&raw.queue)->default_value("taskpool")->value_name("NAME"),
       "names the cluster's streams and subjects, [A-Za-z0-9_-], so several "
       "clusters can share one NATS")
      ("cluster-creds", po::value(&raw.creds_file)->value_name("FILE"),
       "NATS credentials file (JWT and NKey seed) for the connection")
      ("cluster-tls-ca", po::value(&raw.tls_ca_file)->value_name("FILE"),
       "CA certificates (PEM) to verify the NATS servers with; turns TLS on")
      ("cluster-ack-wait-ms",
       po::value(&raw.ack_wait_ms)->default_value(30000)->value_name("MS"),
       "a fetched task whose node stops saying it is alive for MS is "
       "redelivered to another node; a node reports each running task every "
       "MS/3 (1000-3600000)")
      ("cluster-heartbeat-ms",
       po::value(&raw.heartbeat_ms)->default_value(1000)->value_name("MS"),
       "how often this node announces itself; a node silent for three "
       "intervals is taken as gone (100-60000)")
      ("cluster-replicas", po::value(&raw.replicas)->default_value(1)->value_name("N"),
       "replicas of the streams when this node creates them (1-5; 3 on a "
       "3-server JetStream cluster survives a server's loss)");
}

std::string ValidateClusterOptions(const RawClusterOptions& raw, ClusterConfig& config) {
  config.servers = SplitCommas(raw.servers);
  for (const std::string& url : config.servers) {
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      return "--cluster takes nats://HOST:PORT or tls://HOST:PORT URLs separated by "
             "commas, not '" + url + "'";
    }
  }
  if (!raw.servers.empty() && config.servers.empty()) {
    return "--cluster needs at least one nats://HOST:PORT URL";
  }
  config.node_name = raw.node_name.empty() ? DefaultNodeName() : raw.node_name;
  if (!IsValidName(config.node_name)) {
    return "--node-name must be 1-64 characters of [A-Za-z0-9_-], not '" + config.node_name +
           "'";
  }
  config.queue = raw.queue.empty() ? "taskpool" : raw.queue;
  if (!IsValidName(config.queue)) {
    return "--cluster-queue must be 1-64 characters of [A-Za-z0-9_-], not '" + config.queue +
           "'";
  }
  config.creds_file = raw.creds_file;
  config.tls_ca_file = raw.tls_ca_file;
  if (raw.ack_wait_ms < 1000 || raw.ack_wait_ms > 3'600'000) {
    return "--cluster-ack-wait-ms must be between 1000 and 3600000";
  }
  config.ack_wait = std::chrono::milliseconds(raw.ack_wait_ms);
  if (raw.heartbeat_ms < 100 || raw.heartbeat_ms > 60'000) {
    return "--cluster-heartbeat-ms must be between 100 and 60000";
  }
  config.heartbeat = std::chrono::milliseconds(raw.heartbeat_ms);
  if (raw.replicas < 1 || raw.replicas > 5) return "--cluster-replicas must be between 1 and 5";
  config.replicas = static_cast<uint32_t>(raw.replicas);
  return "";
}

}  // namespace taskpool::daemon
