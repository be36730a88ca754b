// Whether a submission may enter the router, and which gates it must pass.
//
// The checks, in the order a client learns of them: the daemon is
// accepting (SHUTTING_DOWN), the id is free on its connection
// (DUPLICATE_ID), the function is known, a chunk's payload is well formed,
// and the payload is within --max-payload-bytes (PAYLOAD_TOO_LARGE).
//
// The gates (ConcurrencyGates) are "lock/KEY" for a submission's lock key,
// "function/NAME" for a function with a --limit and "user/UID" for the
// client user's share (--max-in-flight-per-user). The keys of functions
// are made once here, so a task without a lock key builds no string.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.h"
#include "daemon/route/client_table.h"
#include "daemon/route/concurrency_gates.h"
#include "taskpool/status.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

class TaskRegistry;

class Admission {
 public:
  // Sets the limits of `gates` from `config`; all three must outlive this.
  Admission(const TaskRegistry& registry, const DaemonConfig& config, ConcurrencyGates& gates);

  // Sets the gates' limits from the config again (a reload changed it):
  // --limit, --max-in-flight-per-user and the rollout gate below. Tasks
  // inside the gates stay inside.
  void ApplyLimits();

  // Functions 0..count-1 are in every worker process's registry. A task of
  // a function beyond (a plugin a reload added, while old workers still
  // run) is held at the rollout gate until every worker has it, so no
  // worker is ever handed a function it does not know.
  void SetFunctionsOnEveryWorker(uint32_t count);

  // Why `submit` from `client` is refused, or OK. `function` and
  // `chunk_items` are what the registry and the chunk codec said of it
  // (`function` is OK, too, for one only other nodes of a cluster have).
  Status Check(const ClientState& client, const v1::Submit& submit, const Status& function,
               const Result<uint32_t>& chunk_items, bool accepting) const;

  // The gates a submission of function `function_index` (registered) by
  // user `uid` must pass.
  std::vector<std::string> GateKeys(uid_t uid, const v1::Submit& submit,
                                    uint32_t function_index) const;

  // Whether function `function_index` (registered) has a --limit.
  bool HasFunctionLimit(uint32_t function_index) const {
    return function_index < function_keys_.size() && !function_keys_[function_index].empty();
  }

  // Whether user `uid` is at its --max-in-flight-per-user share (so a held
  // task of its waits for the share, not for a lock or a limit).
  bool AtUserShare(uid_t uid) const;

 private:
  const TaskRegistry& registry_;
  const DaemonConfig& config_;
  ConcurrencyGates& gates_;
  uint32_t functions_on_every_worker_;
  // Every "function/NAME" key ever given a limit, and whether the user
  // share ever was on: a reload that drops one makes it unlimited.
  std::vector<std::string> ever_limited_;
  bool user_share_ever_limited_ = false;
  // "function/NAME" by registry index for functions with a --limit; empty
  // for the others.
  std::vector<std::string> function_keys_;
};

}  // namespace taskpool::daemon
