// `taskpool map --halt`: when to stop early, in GNU parallel's words. Only
// parallel's "now" is offered (stop at once: tasks still queued are
// withdrawn and running ones cancelled, a shell job's command killed);
// "soon" would have to wait for tasks that a large window has already
// queued in the daemon, which is not what it promises.
#pragma once

#include <cstdint>
#include <string_view>

namespace taskpool::cli {

struct HaltPolicy {
  enum class Count { kNever, kFail, kSuccess, kDone };
  Count count = Count::kNever;
  uint64_t threshold = 0;  // halt once this many have failed/succeeded/ended

  // "never", "now,fail=N", "now,success=N", "now,done=N" (N >= 1), or
  // parallel's numeric shorthands "0" (never) and "2" (now,fail=1).
  // Throws UsageError naming what is accepted.
  static HaltPolicy Parse(std::string_view text);

  bool ShouldHalt(uint64_t succeeded, uint64_t failed) const;
  // --halt now,fail=1: the exit status is then the failed job's own.
  bool first_failure() const { return count == Count::kFail && threshold == 1; }
};

}  // namespace taskpool::cli
