// How many connections each client user holds open, against
// --max-connections-per-user, so that one user (a hostile one, or a
// runaway script) cannot take every connection slot from the others.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

class ConnectionsPerUser {
 public:
  // REQUIRES: limit >= 1.
  explicit ConnectionsPerUser(uint32_t limit) : limit_(limit) {}

  // Counts a new connection of `uid`; TOO_MANY_CONNECTIONS, counting
  // nothing, when that user already holds the limit.
  Status Admit(uid_t uid);
  // Forgets one connection of `uid`. REQUIRES: one was admitted.
  void Release(uid_t uid);

  uint32_t limit() const { return limit_; }
  // Users with at least one connection, by uid.
  const std::map<uid_t, uint32_t>& by_user() const { return open_; }

 private:
  const uint32_t limit_;
  std::map<uid_t, uint32_t> open_;
};

}  // namespace taskpool::daemon
