// The user database's names for client uids, cached.
//
// Status lists every user with tasks in flight by name, and getpwuid_r may
// ask NSS (LDAP, sssd) over the network: asked on every status request, it
// would stall the event loop each time. A name is looked up once per uid
// and kept for kTimeToLive, so a renamed user shows the new name a little
// later. The cache is bounded: when full, it starts again empty.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <unordered_map>

namespace taskpool::daemon {

class UserNames {
 public:
  // The name of `uid`, or "" if it has none.
  using Lookup = std::function<std::string(uid_t uid)>;

  static constexpr std::chrono::seconds kTimeToLive{60};
  static constexpr size_t kMaxEntries = 4096;

  // getpwuid_r.
  static std::string LookUpInUserDatabase(uid_t uid);

  explicit UserNames(Lookup lookup = LookUpInUserDatabase) : lookup_(std::move(lookup)) {}

  // The name of `uid` ("" if it has none), as of no longer than
  // kTimeToLive before `now`.
  const std::string& NameOf(uid_t uid, std::chrono::steady_clock::time_point now);

 private:
  struct Entry {
    std::string name;
    std::chrono::steady_clock::time_point looked_up;
  };

  Lookup lookup_;
  std::unordered_map<uid_t, Entry> names_;
};

}  // namespace taskpool::daemon
