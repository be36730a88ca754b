// Your own task functions, in a shared library that taskpoold loads with
// `--plugin PATH` (or `plugin = PATH` lines in its config file).
//
//   #include <taskpool/plugin.hpp>
//
//   taskpool::plugin::Output Shout(std::string_view payload,
//                                  taskpool::plugin::Context& context) {
//     if (payload.empty()) {
//       return taskpool::plugin::Output::Error(
//           taskpool::ErrorCode::kInvalidArgument, "nothing to shout");
//     }
//     context.log("shouting " + std::to_string(payload.size()) + " bytes");
//     std::string out(payload);
//     for (char& c : out) c = static_cast<char>(std::toupper(c));
//     return taskpool::plugin::Output::Ok(std::move(out));
//   }
//   TASKPOOL_FUNCTION("shout", Shout)
//
//   void Connect() { /* open a database handle, warm a cache, ... */ }
//   TASKPOOL_ON_WORKER_START(Connect)
//
// Build it as a SHARED library linked to `taskpool::plugin` (from
// find_package(taskpool)), with the same compiler and flags as taskpoold.
//
// How it runs. The daemon dlopen()s every plugin before it forks its
// workers, so each worker inherits the loaded code. Functions run in
// workers, one task at a time per worker; a function may keep per-worker
// state in globals without locking. An exception thrown by a function
// becomes a TASK_FAILED result carrying its what(). A crash (segfault,
// abort) takes down only that worker and its task ends WORKER_DIED.
//
// Named locks. `auto guard = context.lock("db")` waits until no other task
// (in any worker of this daemon) holds the lock "db", and holds it until
// the guard is destroyed (Python's multiprocessing.Lock). A worker that dies
// holding a lock releases it; so does a function that returns holding one.
//
// Errors. Throwing taskpool::plugin::TaskError(code, message) ends the
// task like Output::Error; typed functions (<taskpool/plugin_proto.hpp>)
// report INVALID_ARGUMENT that way.
//
// Hooks. TASKPOOL_ON_WORKER_START(fn) runs `void fn()` once in each worker
// right after fork, before its first task (Python Pool's `initializer`);
// TASKPOOL_ON_WORKER_EXIT(fn) runs when a worker retires itself
// (--max-tasks-per-worker, --max-worker-rss-mib). A start hook that throws
// is logged with its message and the worker exits as unable to start; the
// daemon stays up and does not respawn that worker.
//
// The boundary between daemon and plugin is plain C (the taskpool_*_v1
// structs of <taskpool/plugin_abi.hpp>) so exceptions and C++ objects never cross it; the macros
// generate it. A plugin built against another ABI version is refused at
// start with a message naming both versions.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskpool/plugin_abi.hpp"
#include "taskpool/status.hpp"
#include "taskpool/version.hpp"

// ---------------------------------------------------------------------------
// The C++ side a plugin author uses.

namespace taskpool::plugin {

// What a function returns: output bytes, or an error code and a message.
class Output {
 public:
  static Output Ok(std::string bytes) {
    return Output(ErrorCode::kOk, std::move(bytes));
  }
  // REQUIRES: code is kInvalidArgument (bad input), kCancelled (stopped
  // early because Context::cancelled() said so: the convention) or
  // kTaskFailed (everything else). Any other code arrives as TASK_FAILED
  // with the code named in the message: the rest describe what the daemon
  // did to a task.
  static Output Error(ErrorCode code, std::string message) {
    return Output(code, std::move(message));
  }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  // The output when ok(), the message otherwise.
  const std::string& data() const { return data_; }

 private:
  Output(ErrorCode code, std::string data)
      : code_(code), data_(std::move(data)) {}
  ErrorCode code_;
  std::string data_;
};

// Ends the task with `code` and `message` when thrown from a function, as
// returning Output::Error would (same rules for the code).
class TaskError : public std::runtime_error {
 public:
  TaskError(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Holds a named lock from Context::lock until destroyed, unlock()ed or
// moved from; an empty guard (from a failed try_lock) holds nothing.
// REQUIRES: destroyed before the function returns (the daemon releases
// whatever is still held then; a guard kept past the call would refer to a
// finished task).
class LockGuard {
 public:
  LockGuard() = default;
  LockGuard(LockGuard&& other) noexcept
      : call_(std::exchange(other.call_, nullptr)), handle_(other.handle_) {}
  LockGuard& operator=(LockGuard&& other) noexcept {
    if (this != &other) {
      unlock();
      call_ = std::exchange(other.call_, nullptr);
      handle_ = other.handle_;
    }
    return *this;
  }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;
  ~LockGuard() { unlock(); }

  bool owns_lock() const { return call_ != nullptr; }
  explicit operator bool() const { return owns_lock(); }
  void unlock() {
    if (const taskpool_call_v1* call = std::exchange(call_, nullptr)) {
      call->unlock(call->host, handle_);
    }
  }

 private:
  friend class Context;
  LockGuard(const taskpool_call_v1* call, uint64_t handle)
      : call_(call), handle_(handle) {}
  const taskpool_call_v1* call_ = nullptr;
  uint64_t handle_ = 0;
};

// What a function knows about the task it runs. Valid during the call only.
class Context {
 public:
  explicit Context(const taskpool_call_v1& call) : call_(call) {}

  // Slot-based: unique among the tasks in flight, reused afterwards; it is
  // not the id the client chose.
  uint64_t task_id() const { return call_.task_id; }
  // 1 on the first run; higher when a retry follows a worker death.
  uint32_t attempt() const { return call_.attempt; }
  // Whether the task should stop early: its client cancelled it without
  // kill (Client::cancel(id)), or disconnected, or the daemon is
  // force-stopping. Cheap; poll it in long loops. Stopping is up to the
  // function: whatever it returns is the task's one result (by convention
  // Output::Error(ErrorCode::kCancelled, ...), which arrives as CANCELLED).
  // A cancel that kills, a timeout or a deadline does not wait for this.
  bool cancelled() const { return call_.cancelled(call_.host) != 0; }

  // When the task must be done: the earlier of the submission's deadline
  // (counted from submission) and its start here plus its timeout (its own
  // or taskpoold --task-timeout-ms). Past it the daemon kills the worker and
  // the task ends TIMEOUT. time_point::max() when there is no limit.
  std::chrono::system_clock::time_point deadline() const {
    if (call_.deadline_unix_us == 0) {
      return std::chrono::system_clock::time_point::max();
    }
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(call_.deadline_unix_us)));
  }
  bool has_deadline() const { return call_.deadline_unix_us != 0; }
  // Time left until deadline(): zero once past, milliseconds::max() when
  // there is no limit.
  std::chrono::milliseconds remaining() const {
    if (!has_deadline()) return std::chrono::milliseconds::max();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline() - std::chrono::system_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }
  // One line in the daemon's log (stderr), tagged with the function.
  void log(std::string_view message) const {
    call_.log(call_.host, message.data(), message.size());
  }

  // Named interprocess lock among all the daemon's workers: waits until
  // `name` is free, then holds it until the guard goes. Not recursive:
  // taking a name this task already holds throws TaskError, as does a
  // failure to lock at all (TASK_FAILED with the reason). A task timeout
  // or a cancel that kills still stops a task waiting here.
  LockGuard lock(std::string_view name) {
    return Acquire(name, std::chrono::milliseconds(-1));
  }
  // As lock(), but gives up at once (empty guard) if another task holds it.
  LockGuard try_lock(std::string_view name) {
    return Acquire(name, std::chrono::milliseconds(0));
  }
  // As lock(), but gives up after `timeout` (empty guard).
  LockGuard try_lock_for(std::string_view name,
                         std::chrono::milliseconds timeout) {
    return Acquire(name, std::max(timeout, std::chrono::milliseconds(0)));
  }

 private:
  LockGuard Acquire(std::string_view name, std::chrono::milliseconds timeout) {
    uint64_t handle = 0;
    char error[256] = {};
    switch (call_.lock(call_.host, name.data(), name.size(), timeout.count(),
                       &handle, error, sizeof error)) {
      case 0:
        return LockGuard(&call_, handle);
      case 1:
        return LockGuard();
      default:
        throw TaskError(ErrorCode::kTaskFailed, error);
    }
  }

  const taskpool_call_v1& call_;
};

using Function = Output (*)(std::string_view payload, Context& context);
using Hook = void (*)();

namespace internal {

// Per shared library (hidden visibility): two plugins loaded side by side
// must not share, or merge, their lists.
struct Registrations {
  std::vector<taskpool_function_v1> functions;
  std::vector<Hook> on_worker_start;
  std::vector<Hook> on_worker_exit;
};
[[gnu::visibility("hidden")]] inline Registrations& registrations() {
  static Registrations instance;
  return instance;
}

template <Function F>
void Trampoline(const char* payload, size_t size,
                const taskpool_call_v1* call) {
  // Nothing may unwind into the daemon's C frames.
  try {
    Context context(*call);
    const Output output = F(std::string_view(payload, size), context);
    call->finish(call->host, static_cast<int>(output.code()),
                 output.data().data(), output.data().size());
  } catch (const TaskError& e) {
    const std::string_view what = e.what();
    call->finish(call->host, static_cast<int>(e.code()), what.data(),
                 what.size());
  } catch (const std::bad_alloc& e) {
    // The daemon adds the worker's memory limit to the message.
    const std::string_view what = e.what();
    call->finish(call->host, static_cast<int>(ErrorCode::kOutOfMemory),
                 what.data(), what.size());
  } catch (const std::exception& e) {
    const std::string_view what = e.what();
    call->finish(call->host, static_cast<int>(ErrorCode::kTaskFailed),
                 what.data(), what.size());
  } catch (...) {
    const std::string_view what =
        "plugin function threw a non-standard exception";
    call->finish(call->host, static_cast<int>(ErrorCode::kTaskFailed),
                 what.data(), what.size());
  }
}

inline int RunHooks(const std::vector<Hook>& hooks, char* error,
                    size_t error_size) {
  std::string reason;
  try {
    for (Hook hook : hooks) hook();
    return 0;
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "hook threw a non-standard exception";
  }
  if (error_size > 0) {
    const size_t n = std::min(reason.size(), error_size - 1);
    reason.copy(error, n);
    error[n] = '\0';
  }
  return 1;
}
[[gnu::visibility("hidden")]] inline int RunStartHooks(char* error,
                                                       size_t size) {
  return RunHooks(registrations().on_worker_start, error, size);
}
[[gnu::visibility("hidden")]] inline int RunExitHooks(char* error,
                                                      size_t size) {
  return RunHooks(registrations().on_worker_exit, error, size);
}

// Static initializers in the plugin fill the lists; the entry point is
// odr-used from each registration so the linker always emits it.
struct Registrar {
  Registrar(const char* name, taskpool_function_v1_fn call) {
    registrations().functions.push_back({name, call});
    Touch();
  }
  Registrar(Hook hook, bool at_start) {
    (at_start ? registrations().on_worker_start
              : registrations().on_worker_exit)
        .push_back(hook);
    Touch();
  }
  static void Touch() {
    static const taskpool_plugin_v1* (*volatile entry)() =
        &taskpool_plugin_entry;
    (void)entry;
  }
};

}  // namespace internal
}  // namespace taskpool::plugin

namespace taskpool::plugin::internal {
// The table lives in a hidden function: a static local of an exported
// inline function is a STB_GNU_UNIQUE symbol, which the dynamic linker
// shares among all loaded libraries even under RTLD_LOCAL, so a second
// plugin would be handed the first one's table.
[[gnu::visibility("hidden")]] inline const taskpool_plugin_v1* Describe() {
  static const taskpool_plugin_v1 plugin = {
      TASKPOOL_PLUGIN_BUILT_ABI_VERSION,
      TASKPOOL_HEADERS_VERSION,
      registrations().functions.size(),
      registrations().functions.data(),
      registrations().on_worker_start.empty() ? nullptr : &RunStartHooks,
      registrations().on_worker_exit.empty() ? nullptr : &RunExitHooks,
  };
  return &plugin;
}
}  // namespace taskpool::plugin::internal

// Called by the daemon after dlopen, i.e. after the plugin's static
// initializers have filled the registration lists.
extern "C" [[gnu::visibility("default")]] inline const taskpool_plugin_v1*
taskpool_plugin_entry() {
  return taskpool::plugin::internal::Describe();
}

#define TASKPOOL_PLUGIN_CONCAT_INNER(a, b) a##b
#define TASKPOOL_PLUGIN_CONCAT(a, b) TASKPOOL_PLUGIN_CONCAT_INNER(a, b)

// Registers `Output fn(std::string_view, Context&)` under `name`.
#define TASKPOOL_FUNCTION(name, fn)                                            \
  static const ::taskpool::plugin::internal::Registrar TASKPOOL_PLUGIN_CONCAT( \
      taskpool_function_registrar_, __LINE__)(                                 \
      name, &::taskpool::plugin::internal::Trampoline<&fn>);

// Runs `void fn()` once in each worker after fork, before its first task.
#define TASKPOOL_ON_WORKER_START(fn)                                           \
  static const ::taskpool::plugin::internal::Registrar TASKPOOL_PLUGIN_CONCAT( \
      taskpool_start_hook_registrar_, __LINE__)(&fn, true);

// Runs `void fn()` when a worker retires itself.
#define TASKPOOL_ON_WORKER_EXIT(fn)                                            \
  static const ::taskpool::plugin::internal::Registrar TASKPOOL_PLUGIN_CONCAT( \
      taskpool_exit_hook_registrar_, __LINE__)(&fn, false);
