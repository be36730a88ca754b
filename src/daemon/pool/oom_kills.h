// Whether the kernel's OOM killer struck: a worker killed by SIGKILL that
// the daemon did not kill may have been its victim, and then the task and
// the log should say so rather than a bare "killed by SIGKILL".
//
// The kernel counts its OOM kills in two places: the memory cgroup's
// memory.events ("oom_kill N", cgroup v2; this cgroup and those below it,
// so under systemd only this service's kills) and /proc/vmstat ("oom_kill
// N", the whole machine). The cgroup's count is used where it can be read,
// else vmstat's; with vmstat an OOM kill elsewhere on the machine since the
// last check would be taken for ours, which the message allows for
// ("probably").
//
// Thread-safety: one owner (the supervisor's event loop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskpool::daemon {

class OomKillCounter {
 public:
  // Picks the source and reads its count now.
  OomKillCounter();

  // Reads the count again. A note for a worker's last exit, such as
  // "by the kernel's OOM killer (oom_kill in
  // /sys/fs/cgroup/system.slice/taskpoold.service/memory.events rose)",
  // when it rose since the last call; "" when it did not or cannot be read.
  std::string NoteIfRose();

  // The file read; "" when neither can be.
  const std::string& source() const { return path_; }

 private:
  std::optional<uint64_t> Read() const;

  std::string path_;
  bool machine_wide_ = false;
  std::optional<uint64_t> last_;
};

// The N of the "oom_kill N" line of a memory.events or /proc/vmstat text.
std::optional<uint64_t> ParseOomKillCount(std::string_view text);

// The memory.events of the cgroup (v2) that a /proc/self/cgroup text
// names ("0::/system.slice/x.service" -> "/sys/fs/cgroup/system.slice/
// x.service/memory.events"); "" for a cgroup v1 only system.
std::string CgroupMemoryEventsPath(std::string_view proc_self_cgroup);

}  // namespace taskpool::daemon
