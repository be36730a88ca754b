#include "daemon/pool/retire_bound.h"

namespace taskpool::daemon {

RetireVerdict JudgeRetiring(std::chrono::steady_clock::duration retiring_for, bool stopped,
                            std::chrono::milliseconds bound) {
  if (stopped && retiring_for >= kStoppedRetireGrace) return RetireVerdict::kKillStopped;
  if (retiring_for >= bound) return RetireVerdict::kKillOverdue;
  return RetireVerdict::kWait;
}

}  // namespace taskpool::daemon
