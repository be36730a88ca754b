#include "daemon/cluster/node_table.h"

#include <algorithm>

namespace taskpool::cluster {

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
// A heartbeat may arrive a little late without its node being gone: the
// sender's timer and the network are not exact.
constexpr int64_t kLivenessSlackNs = 250 * kNanosPerMilli;

}  // namespace

NodeTable::NodeTable(std::string self, uint64_t self_incarnation, uint32_t self_interval_ms,
                     int64_t created_ns)
    : self_(std::move(self)),
      self_incarnation_(self_incarnation),
      self_interval_ms_(self_interval_ms),
      created_ns_(created_ns) {}

void NodeTable::Update(const v1::NodeHeartbeat& heartbeat, int64_t now_ns) {
  if (heartbeat.leaving()) {
    auto found = nodes_.find(heartbeat.name());
    // A late "leaving" of an earlier incarnation must not hide the new one.
    if (found != nodes_.end() &&
        found->second.heartbeat.incarnation() == heartbeat.incarnation()) {
      // Kept (not live any more), so OriginGone still knows its incarnation.
      found->second.heartbeat.set_leaving(true);
      found->second.heard_ns = now_ns;
    }
    return;
  }
  Node& node = nodes_[heartbeat.name()];
  node.heartbeat = heartbeat;
  node.heard_ns = now_ns;
  // Forget nodes silent for long: the table stays as small as the cluster.
  std::erase_if(nodes_, [&](const auto& entry) {
    const int64_t gone_ns =
        std::chrono::nanoseconds(GoneAfter(entry.second.heartbeat.interval_ms())).count();
    return now_ns - entry.second.heard_ns > 2 * gone_ns;
  });
}

bool NodeTable::IsLive(const Node& node, int64_t now_ns) const {
  if (node.heartbeat.leaving()) return false;
  const int64_t interval_ns = int64_t{node.heartbeat.interval_ms()} * kNanosPerMilli;
  return now_ns - node.heard_ns <= 3 * interval_ns + kLivenessSlackNs;
}

bool NodeTable::Offers(const Node& node, std::string_view function) {
  const auto& functions = node.heartbeat.functions();
  return std::find(functions.begin(), functions.end(), function) != functions.end();
}

bool NodeTable::AnyOtherHas(std::string_view function, int64_t now_ns) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
    return entry.first != self_ && IsLive(entry.second, now_ns) && Offers(entry.second, function);
  });
}

bool NodeTable::AllHave(std::string_view function, int64_t now_ns) const {
  bool any_live = false;
  for (const auto& [name, node] : nodes_) {
    if (!IsLive(node, now_ns)) continue;
    any_live = true;
    if (!Offers(node, function)) return false;
  }
  return any_live;
}

bool NodeTable::OriginGone(const std::string& origin, uint64_t incarnation,
                           int64_t now_ns) const {
  if (origin == self_) return incarnation != self_incarnation_;
  auto found = nodes_.find(origin);
  if (found == nodes_.end()) {
    return now_ns - created_ns_ > std::chrono::nanoseconds(GoneAfter(self_interval_ms_)).count();
  }
  const Node& node = found->second;
  if (node.heartbeat.incarnation() != incarnation) return true;
  return now_ns - node.heard_ns >
         std::chrono::nanoseconds(GoneAfter(node.heartbeat.interval_ms())).count();
}

void NodeTable::Fill(google::protobuf::RepeatedPtrField<taskpool::v1::NodeStatus>* out,
                     int64_t now_ns) const {
  for (const auto& [name, node] : nodes_) {
    if (!IsLive(node, now_ns)) continue;
    taskpool::v1::NodeStatus* status = out->Add();
    status->set_name(name);
    status->set_workers(node.heartbeat.workers());
    status->set_busy(node.heartbeat.busy());
    status->set_queued(node.heartbeat.queued());
    status->set_last_heartbeat_ms(static_cast<uint64_t>((now_ns - node.heard_ns) / kNanosPerMilli));
    status->set_version(node.heartbeat.version());
    status->set_functions(static_cast<uint32_t>(node.heartbeat.functions_size()));
    status->set_self(name == self_);
  }
}

size_t NodeTable::live_count(int64_t now_ns) const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
    return IsLive(entry.second, now_ns);
  }));
}

}  // namespace taskpool::cluster
