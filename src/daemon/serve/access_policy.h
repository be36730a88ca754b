// Who may use the daemon: peers whose uid (SO_PEERCRED) is in the allowed
// users, or whose primary or supplementary groups meet the allowed groups.
//
// Thread-safety: immutable after construction; Allows() may call getpw*
// (not reentrant-safe across threads for every libc), so use it from the
// event loop thread only.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "taskpool/status.hpp"

namespace taskpool::daemon {

class AccessPolicy {
 public:
  AccessPolicy(std::vector<uid_t> users, std::vector<gid_t> groups);

  // True if `uid` is allowed, or `gid` or one of uid's supplementary
  // groups (from the group database, getgrouplist) is.
  bool Allows(uid_t uid, gid_t gid) const;

 private:
  std::vector<uid_t> users_;
  std::vector<gid_t> groups_;
};

// "alice,1001,root" -> uids; names go through the user database. An error
// names the entry that is neither a number nor a known user.
Result<std::vector<uid_t>> ParseUserList(const std::string& list);
// The same for groups.
Result<std::vector<gid_t>> ParseGroupList(const std::string& list);

}  // namespace taskpool::daemon
