// The functions workers can run, by name.
//
// Filled in by the supervisor before it forks (built-ins, later plugins);
// workers inherit it and look functions up by index, which is what travels
// through the shared-memory queue. Never modified after the first fork.
//
// Thread-safety: immutable once the daemon starts; reads from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "taskpool/status.hpp"

namespace taskpool::daemon {

// What a task function returns: kOk with its output, or an error code with
// a message for a person (e.g. INVALID_ARGUMENT "is_prime expects ...").
struct TaskOutcome {
  ErrorCode code = ErrorCode::kOk;
  std::string data;  // output when ok, the error message otherwise

  static TaskOutcome Ok(std::string output) {
    return {ErrorCode::kOk, std::move(output)};
  }
  static TaskOutcome Error(ErrorCode code, std::string message) {
    return {code, std::move(message)};
  }
};

// What a worker knows about the task it is running, for functions that ask
// (plugins). task_id is slot-based: unique among tasks in flight only.
struct TaskContext {
  uint64_t task_id = 0;
  uint32_t attempt = 1;
  // When the task must be done; none: never.
  std::optional<base::WallTime> deadline;
  // Whether the supervisor asked the task to stop early; empty: never.
  std::function<bool()> cancelled;
};

// Where a function comes from and whether it runs, for clients that list
// the daemon's functions (StatusReply.registered_functions).
struct FunctionListing {
  std::string name;
  std::string plugin;    // the plugin's path; "" for a built-in
  std::string disabled;  // why it is refused (see Refuse); "" when it runs
};

using TaskFunction = std::function<TaskOutcome(std::string_view payload)>;
using ContextualTaskFunction =
    std::function<TaskOutcome(std::string_view payload, const TaskContext& context)>;

// Code a plugin wants run in each worker (after fork, or when it retires).
// `owner` names it in logs; `run` reports failure as a Status.
struct WorkerHook {
  std::string owner;
  std::function<Status()> run;
};

class TaskRegistry {
 public:
  // Adds `function` under `name`; `plugin` is the path of the plugin that
  // defines it, empty for a built-in. Fails (INVALID_ARGUMENT) if the name
  // is taken or empty.
  Status Register(std::string name, TaskFunction function, std::string plugin = {});
  // The same, for a function that wants its TaskContext.
  Status Register(std::string name, ContextualTaskFunction function,
                  std::string plugin = {});

  // Hooks run by every worker, in registration order.
  void AddWorkerStartHook(WorkerHook hook) { start_hooks_.push_back(std::move(hook)); }
  void AddWorkerExitHook(WorkerHook hook) { exit_hooks_.push_back(std::move(hook)); }
  // Runs them all; stops at the first failure and returns it, naming the
  // hook's owner. Exit hooks all run; failures are only returned.
  Status RunWorkerStartHooks() const;
  Status RunWorkerExitHooks() const;

  // Makes Find(name) fail with `why` rather than UNKNOWN_FUNCTION: for a
  // built-in that the configuration turned off, so its callers learn how to
  // turn it on. Has no effect once `name` is registered.
  // REQUIRES: !why.ok()
  void Refuse(std::string name, Status why);

  // The index of `name`; the Status given to Refuse(name); or
  // UNKNOWN_FUNCTION whose message lists the known names:
  // "unknown function 'foo'; known functions: echo, fail, ...".
  Result<uint32_t> Find(std::string_view name) const;

  // REQUIRES: index < size()
  const std::string& name(uint32_t index) const;
  // Runs function `index`, turning an exception into TASK_FAILED.
  TaskOutcome Run(uint32_t index, std::string_view payload,
                  const TaskContext& context = {}) const;

  size_t size() const { return entries_.size(); }
  // Sorted names, for error messages and --help.
  std::vector<std::string> names() const;
  // Every registered and every refused name with its origin, sorted by
  // name (a refused name that was registered after all is listed once, as
  // registered).
  std::vector<FunctionListing> Listing() const;

 private:
  struct Entry {
    std::string name;
    ContextualTaskFunction function;
    std::string plugin;
  };
  std::vector<Entry> entries_;
  std::vector<std::pair<std::string, Status>> refusals_;
  std::vector<WorkerHook> start_hooks_;
  std::vector<WorkerHook> exit_hooks_;
};

// Adds is_prime, sleep, echo, sha256 and fail.
void RegisterBuiltins(TaskRegistry& registry);

}  // namespace taskpool::daemon
