#include "daemon/serve/access_policy.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

namespace taskpool::daemon {

namespace {

// A decimal id, or nothing when `text` is not one.
bool ParseId(const std::string& text, unsigned long* id) {
  const char* end = text.data() + text.size();
  auto [pointer, error] = std::from_chars(text.data(), end, *id);
  return error == std::errc() && pointer == end;
}

template <typename Id, typename Lookup>
Result<std::vector<Id>> ParseIdList(const std::string& list, const char* kind,
                                    Lookup lookup) {
  std::vector<Id> ids;
  std::stringstream entries(list);
  for (std::string entry; std::getline(entries, entry, ',');) {
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    if (entry.empty()) continue;
    unsigned long id = 0;
    if (ParseId(entry, &id)) {
      ids.push_back(static_cast<Id>(id));
    } else if (std::optional<Id> found = lookup(entry)) {
      ids.push_back(*found);
    } else {
      return Status(ErrorCode::kInvalidArgument,
                    std::string("no such ") + kind + " '" + entry + "'");
    }
  }
  if (ids.empty()) {
    return Status(ErrorCode::kInvalidArgument, std::string("empty ") + kind + " list");
  }
  return ids;
}

}  // namespace

AccessPolicy::AccessPolicy(std::vector<uid_t> users, std::vector<gid_t> groups)
    : users_(std::move(users)), groups_(std::move(groups)) {}

bool AccessPolicy::Allows(uid_t uid, gid_t gid) const {
  if (std::find(users_.begin(), users_.end(), uid) != users_.end()) return true;
  if (groups_.empty()) return false;
  if (std::find(groups_.begin(), groups_.end(), gid) != groups_.end()) return true;
  // SO_PEERCRED carries the primary gid only; the supplementary groups come
  // from the group database for the uid's name.
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return false;
  }
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) return false;
  }
  groups.resize(static_cast<size_t>(count));
  for (gid_t group : groups) {
    if (std::find(groups_.begin(), groups_.end(), group) != groups_.end()) return true;
  }
  return false;
}

Result<std::vector<uid_t>> ParseUserList(const std::string& list) {
  return ParseIdList<uid_t>(list, "user", [](const std::string& name) -> std::optional<uid_t> {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
      return std::nullopt;
    }
    return found->pw_uid;
  });
}

Result<std::vector<gid_t>> ParseGroupList(const std::string& list) {
  return ParseIdList<gid_t>(list, "group", [](const std::string& name) -> std::optional<gid_t> {
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer(16384);
    if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
      return std::nullopt;
    }
    return found->gr_gid;
  });
}

}  // namespace taskpool::daemon
