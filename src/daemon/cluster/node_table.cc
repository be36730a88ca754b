#include "daemon/cluster/node_table.h"

#include <algorithm>

namespace taskpool::cluster {

namespace {

// A heartbeat may arrive a little late without its node being gone: the
// sender's timer and the network are not exact.
constexpr std::chrono::milliseconds kLivenessSlack{250};

}  // namespace

NodeTable::NodeTable(std::string self, uint64_t self_incarnation, uint32_t self_interval_ms,
                     base::SteadyTime created)
    : self_(std::move(self)),
      self_incarnation_(self_incarnation),
      self_interval_ms_(self_interval_ms),
      created_(created) {}

void NodeTable::Update(const v1::NodeHeartbeat& heartbeat, base::SteadyTime now) {
  if (heartbeat.leaving()) {
    auto found = nodes_.find(heartbeat.name());
    // A late "leaving" of an earlier incarnation must not hide the new one.
    if (found != nodes_.end() &&
        found->second.heartbeat.incarnation() == heartbeat.incarnation()) {
      // Kept (not live any more), so OriginGone still knows its incarnation.
      found->second.heartbeat.set_leaving(true);
      found->second.heard = now;
    }
    return;
  }
  Node& node = nodes_[heartbeat.name()];
  node.heartbeat = heartbeat;
  node.heard = now;
  // Forget nodes silent for long: the table stays as small as the cluster.
  std::erase_if(nodes_, [&](const auto& entry) {
    return now - entry.second.heard > 2 * GoneAfter(entry.second.heartbeat.interval_ms());
  });
}

bool NodeTable::IsLive(const Node& node, base::SteadyTime now) const {
  if (node.heartbeat.leaving()) return false;
  const std::chrono::milliseconds interval(node.heartbeat.interval_ms());
  return now - node.heard <= 3 * interval + kLivenessSlack;
}

bool NodeTable::Offers(const Node& node, std::string_view function) {
  const auto& functions = node.heartbeat.functions();
  return std::find(functions.begin(), functions.end(), function) != functions.end();
}

bool NodeTable::AnyOtherHas(std::string_view function, base::SteadyTime now) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
    return entry.first != self_ && IsLive(entry.second, now) && Offers(entry.second, function);
  });
}

bool NodeTable::AllHave(std::string_view function, base::SteadyTime now) const {
  bool any_live = false;
  for (const auto& [name, node] : nodes_) {
    if (!IsLive(node, now)) continue;
    any_live = true;
    if (!Offers(node, function)) return false;
  }
  return any_live;
}

bool NodeTable::OriginGone(const std::string& origin, uint64_t incarnation,
                           base::SteadyTime now) const {
  if (origin == self_) return incarnation != self_incarnation_;
  auto found = nodes_.find(origin);
  if (found == nodes_.end()) {
    return now - created_ > GoneAfter(self_interval_ms_);
  }
  const Node& node = found->second;
  if (node.heartbeat.incarnation() != incarnation) return true;
  return now - node.heard > GoneAfter(node.heartbeat.interval_ms());
}

void NodeTable::Fill(google::protobuf::RepeatedPtrField<taskpool::v1::NodeStatus>* out,
                     base::SteadyTime now) const {
  for (const auto& [name, node] : nodes_) {
    if (!IsLive(node, now)) continue;
    taskpool::v1::NodeStatus* status = out->Add();
    status->set_name(name);
    status->set_workers(node.heartbeat.workers());
    status->set_busy(node.heartbeat.busy());
    status->set_queued(node.heartbeat.queued());
    status->set_last_heartbeat_ms(base::WireMillis(now - node.heard));
    status->set_version(node.heartbeat.version());
    status->set_functions(static_cast<uint32_t>(node.heartbeat.functions_size()));
    status->set_self(name == self_);
  }
}

size_t NodeTable::live_count(base::SteadyTime now) const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
    return IsLive(entry.second, now);
  }));
}

}  // namespace taskpool::cluster
