// The nodes of a cluster as their heartbeats (Q.nodes) describe them: who
// is alive, what each can run, how busy each is. Both the supervisor (to
// decide where a task may go, and for status) and the cluster agent (to
// drop tasks nobody waits for) keep one.
//
// A node is live while its last heartbeat is at most three of its own
// intervals old (plus a little slack for scheduling). A node that sends
// `leaving` is forgotten at once.
//
// Thread-safety: none; each process uses its own from one thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "taskpool/cluster/v1/cluster.pb.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cluster {

class NodeTable {
 public:
  // A node whose heartbeats come every `interval_ms` and that has been
  // silent this long counts as gone for good: its tasks are dropped when
  // fetched (see OriginGone), and, cut off that long itself, it gives up
  // on its remote tasks. Thirty heartbeats, at least 3 s: well past a
  // reconnect, well before anyone's patience ends.
  static std::chrono::milliseconds GoneAfter(uint32_t interval_ms) {
    return std::max(std::chrono::milliseconds(3000), std::chrono::milliseconds(30) * interval_ms);
  }

  // `self`: this node's name (for status and AnyOtherHas), incarnation and
  // heartbeat interval.
  NodeTable(std::string self, uint64_t self_incarnation, uint32_t self_interval_ms,
            base::SteadyTime created);

  // Records a heartbeat received at `now`.
  void Update(const v1::NodeHeartbeat& heartbeat, base::SteadyTime now);

  // Whether a live node other than this one offers `function`.
  bool AnyOtherHas(std::string_view function, base::SteadyTime now) const;
  // Whether every live node offers `function` (false with no live node).
  bool AllHave(std::string_view function, base::SteadyTime now) const;

  // Whether nobody waits for the tasks of `origin` incarnation
  // `incarnation` any more: that origin has restarted since (its
  // heartbeats carry another incarnation), or it has been silent for
  // GoneAfter its interval, counting from when this table was created for
  // an origin never heard from. Tasks of an earlier incarnation of this very
  // node are gone at once.
  bool OriginGone(const std::string& origin, uint64_t incarnation, base::SteadyTime now) const;

  // Appends every live node, by name.
  void Fill(google::protobuf::RepeatedPtrField<taskpool::v1::NodeStatus>* out,
            base::SteadyTime now) const;

  size_t live_count(base::SteadyTime now) const;

 private:
  struct Node {
    v1::NodeHeartbeat heartbeat;
    base::SteadyTime heard{};
  };
  bool IsLive(const Node& node, base::SteadyTime now) const;
  static bool Offers(const Node& node, std::string_view function);

  const std::string self_;
  const uint64_t self_incarnation_;
  const uint32_t self_interval_ms_;
  const base::SteadyTime created_;
  // Every node heard from within twice its GoneAfter, live or not.
  std::map<std::string, Node> nodes_;
};

}  // namespace taskpool::cluster
