#include "daemon/serve/connections_per_user.h"

#include <string>

namespace taskpool::daemon {

Status ConnectionsPerUser::Admit(uid_t uid) {
  uint32_t& open = open_[uid];
  if (open >= limit_) {
    if (open == 0) open_.erase(uid);
    return Status(ErrorCode::kTooManyConnections,
                  "uid " + std::to_string(uid) + " already has " + std::to_string(open) +
                      " connections open, the most one user may have "
                      "(taskpoold --max-connections-per-user " +
                      std::to_string(limit_) + "); close some first");
  }
  ++open;
  return Status::Ok();
}

void ConnectionsPerUser::Release(uid_t uid) {
  auto entry = open_.find(uid);
  if (entry == open_.end()) return;
  if (--entry->second == 0) open_.erase(entry);
}

}  // namespace taskpool::daemon
