#include "shmq/instance_mark.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "shmq/shm_files.h"

namespace taskpool::shmq {

namespace {

constexpr std::string_view kMarkPrefix = "taskpool-";
constexpr size_t kMarkLength = kMarkPrefix.size() + 32;

bool IsMarkName(std::string_view name) {
  return name.size() == kMarkLength && name.starts_with(kMarkPrefix) &&
         IsShmIdHex(name.substr(kMarkPrefix.size()));
}

// "<mark>.<32 hex>": the mark it belongs to, or "" if not a blob name.
std::string_view MarkOfBlob(std::string_view name) {
  if (name.size() != kMarkLength + 1 + 32 || name[kMarkLength] != '.') return {};
  const std::string_view mark = name.substr(0, kMarkLength);
  if (!IsMarkName(mark) || !IsShmIdHex(name.substr(kMarkLength + 1))) return {};
  return mark;
}

// Names in /dev/shm that pass `keep`. readdir rather than std::filesystem:
// it compares each entry in place (/dev/shm may hold thousands of other
// programs' objects); removals come after the listing, since POSIX leaves
// it unspecified what readdir returns once entries go under it.
template <typename Keep>
std::vector<std::string> ListShm(Keep keep) {
  std::vector<std::string> names;
  if (DIR* directory = opendir(kShmDirectory)) {
    while (const dirent* entry = readdir(directory)) {
      if (keep(std::string_view(entry->d_name))) names.emplace_back(entry->d_name);
    }
    closedir(directory);
  }
  return names;
}

void Unlink(const std::string& name) { unlink(ShmPath(name).c_str()); }

}  // namespace

Result<InstanceMark> InstanceMark::Create() {
  SweepDeadInstances();
  for (;;) {
    ShmId id;
    Result<base::UniqueFd> fd = CreateRandomShm(std::string(kMarkPrefix), &id);
    if (!fd.ok()) return fd.status();
    const std::string name = std::string(kMarkPrefix) + HexOf(id);
    // Blocking: a sweep in another process may hold it for a moment, having
    // opened the mark between our create and this lock.
    while (flock(fd->get(), LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus("flock " + ShmPath(name), errno);
    }
    // That sweep took the unlocked mark for a dead one and removed it.
    struct stat st {};
    if (fstat(fd->get(), &st) == 0 && st.st_nlink == 0) continue;
    return InstanceMark(name, std::move(fd).value());
  }
}

void InstanceMark::SweepDeadInstances() {
  const std::vector<std::string> names = ListShm([](std::string_view name) {
    return name.starts_with(kMarkPrefix) && (IsMarkName(name) || !MarkOfBlob(name).empty());
  });
  std::set<std::string, std::less<>> marks;
  for (const std::string& name : names) {
    if (IsMarkName(name)) marks.insert(name);
  }
  // Dead marks, with their locks held until they are unlinked: a daemon
  // that made the mark but has not locked it yet then finds it unlinked
  // (Create) instead of going on under a name we are removing.
  std::map<std::string, base::UniqueFd, std::less<>> dead;
  for (const std::string& mark : marks) {
    base::UniqueFd fd(open(ShmPath(mark).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    // Unreadable (another user's) or locked (alive): not ours to judge.
    if (!fd || flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    dead.emplace(mark, std::move(fd));
  }
  for (const std::string& name : names) {
    const std::string_view mark = MarkOfBlob(name);
    if (mark.empty()) continue;
    if (!dead.contains(mark)) {
      // An orphan only if its mark is gone; look again now, since the
      // listing may have missed a mark made while it ran.
      if (marks.contains(mark)) continue;
      struct stat st {};
      if (lstat(ShmPath(std::string(mark)).c_str(), &st) == 0 || errno != ENOENT) continue;
    }
    Unlink(name);
  }
  // Last: a sweep that dies half-way leaves the marks for the next one.
  for (const auto& [mark, lock] : dead) Unlink(mark);
}

void InstanceMark::Remove() {
  if (name_.empty()) return;
  const std::string prefix = name_ + ".";
  for (const std::string& blob : ListShm(
           [&](std::string_view name) { return name.starts_with(prefix); })) {
    Unlink(blob);
  }
  Unlink(name_);
  fd_.reset();
  name_.clear();
}

}  // namespace taskpool::shmq
