#include "daemon/route/user_names.h"

#include <pwd.h>

#include <array>

namespace taskpool::daemon {

std::string UserNames::LookUpInUserDatabase(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 4096> buffer{};
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return "";
  }
  return found->pw_name;
}

const std::string& UserNames::NameOf(uid_t uid, std::chrono::steady_clock::time_point now) {
  auto cached = names_.find(uid);
  if (cached != names_.end() && now - cached->second.looked_up < kTimeToLive) {
    return cached->second.name;
  }
  if (cached == names_.end() && names_.size() >= kMaxEntries) names_.clear();
  Entry& entry = names_[uid];
  entry.name = lookup_(uid);
  entry.looked_up = now;
  return entry.name;
}

}  // namespace taskpool::daemon
