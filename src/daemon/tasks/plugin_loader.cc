#include "daemon/tasks/plugin_loader.h"

#include <dlfcn.h>

#include <cstring>
#include <map>
#include <string_view>

#include "base/clock.h"
#include "base/log.h"
#include "daemon/tasks/named_lock.h"
#include "taskpool/plugin.hpp"

namespace taskpool::daemon {
namespace {

// A named lock the running function holds, by the handle it was given.
struct HeldLock {
  std::string name;
  HeldNamedLock lock;
};

// Lives in the worker's stack frame for one call; the plugin sees it as the
// opaque `host` pointer of taskpool_call_v1. Destroying it releases any
// lock the function did not, so no lock outlives its task.
struct CallHost {
  CallHost(const std::string* tag, const std::string* lock_directory,
           const TaskContext* context)
      : tag(tag), lock_directory(lock_directory), context(context) {}

  const std::string* tag;
  const std::string* lock_directory;
  const TaskContext* context;
  TaskOutcome outcome;
  bool finished = false;
  std::map<uint64_t, HeldLock> locks;
  uint64_t next_lock_handle = 1;
};

void LogFromPlugin(void* host, const char* message, size_t size) {
  const auto* call = static_cast<const CallHost*>(host);
  TP_LOG(kInfo) << *call->tag << ": " << std::string_view(message, size);
}

// The flag in the task's queue slot, set by the supervisor (see
// shmq::SupervisorQueue::RequestCancel).
int Cancelled(void* host) {
  const TaskContext& context = *static_cast<const CallHost*>(host)->context;
  return context.cancelled && context.cancelled() ? 1 : 0;
}

void CopyReason(std::string_view reason, char* error, size_t error_size) {
  if (error_size == 0) return;
  const size_t n = std::min(reason.size(), error_size - 1);
  std::memcpy(error, reason.data(), n);
  error[n] = '\0';
}

int Lock(void* host, const char* name_data, size_t name_size,
         int64_t timeout_ms, uint64_t* handle, char* error,
         size_t error_size) {
  auto* call = static_cast<CallHost*>(host);
  const std::string_view name(name_data, name_size);
  for (const auto& [unused, held] : call->locks) {
    if (held.name == name) {
      // flock is per open file: a second descriptor would wait for the
      // first, i.e. for ever.
      CopyReason("lock '" + held.name + "' is already held by this task",
                 error, error_size);
      return 2;
    }
  }
  Result<HeldNamedLock> lock = AcquireNamedLock(
      *call->lock_directory, name, std::chrono::milliseconds(timeout_ms));
  if (!lock.ok()) {
    if (lock.status().code() == ErrorCode::kWaitTimeout) return 1;
    CopyReason(lock.status().message(), error, error_size);
    return 2;
  }
  *handle = call->next_lock_handle++;
  call->locks.emplace(*handle, HeldLock{std::string(name), std::move(*lock)});
  return 0;
}

void Unlock(void* host, uint64_t handle) {
  static_cast<CallHost*>(host)->locks.erase(handle);
}

void Finish(void* host, int code, const char* data, size_t size) {
  auto* call = static_cast<CallHost*>(host);
  call->outcome.data.assign(data, size);
  // The other codes describe what the daemon did to a task (TIMEOUT,
  // WORKER_DIED, ...); a plugin claiming one would mislead the client.
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kOk:
    case ErrorCode::kTaskFailed:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kCancelled:  // stopped early on Context::cancelled()
    case ErrorCode::kOutOfMemory:  // std::bad_alloc, caught by the SDK
      call->outcome.code = static_cast<ErrorCode>(code);
      break;
    default:
      call->outcome.code = ErrorCode::kTaskFailed;
      call->outcome.data = "plugin function reported error code " +
                           std::to_string(code) + ": " + call->outcome.data;
  }
  call->finished = true;
}

ContextualTaskFunction WrapFunction(const taskpool_function_v1& function,
                                    std::string tag,
                                    const std::string& lock_directory) {
  return [call_fn = function.call, tag = std::move(tag), lock_directory](
             std::string_view payload, const TaskContext& context) {
    CallHost host{&tag, &lock_directory, &context};
    const taskpool_call_v1 call = {
        context.task_id, context.attempt, &host,  &LogFromPlugin,
        &Cancelled,      &Finish,         &Lock,  &Unlock,
        base::UnixMicrosOfDeadline(context.deadline)};
    call_fn(payload.data(), payload.size(), &call);
    if (!host.finished) {
      return TaskOutcome::Error(ErrorCode::kInternal,
                                tag + " returned without a result");
    }
    return std::move(host.outcome);
  };
}

std::function<Status()> WrapHook(taskpool_hook_v1_fn hook) {
  return [hook] {
    char reason[512] = {};
    if (hook(reason, sizeof reason) == 0) return Status::Ok();
    return Status(ErrorCode::kTaskFailed,
                  reason[0] != '\0' ? reason : "no reason given");
  };
}

Status LoadOne(const std::string& path, const std::string& lock_directory,
               TaskRegistry& registry) {
  const auto error = [&](std::string message) {
    return Status(ErrorCode::kInvalidArgument,
                  "plugin " + path + ": " + message);
  };
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    return error(std::string("cannot load: ") +
                 (reason ? reason : "unknown error"));
  }
  // Never dlclose()d: see the header.
  using EntryFn = const taskpool_plugin_v1* (*)();
  auto entry =
      reinterpret_cast<EntryFn>(dlsym(handle, TASKPOOL_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) {
    return error(std::string("not a taskpool plugin: no ") +
                 TASKPOOL_PLUGIN_ENTRY_SYMBOL +
                 " symbol (define functions with TASKPOOL_FUNCTION from "
                 "<taskpool/plugin.hpp>)");
  }
  const taskpool_plugin_v1* plugin = entry();
  if (plugin == nullptr) return error("taskpool_plugin_entry returned nothing");
  if (plugin->abi_version != TASKPOOL_PLUGIN_ABI_VERSION) {
    // Only abi_version is known to be laid out alike in every version; the
    // version string is read only when the ABI matches or is ours.
    return error(
        "built for plugin ABI version " + std::to_string(plugin->abi_version) +
        ", but this taskpoold (" TASKPOOL_VERSION ") loads ABI version " +
        std::to_string(TASKPOOL_PLUGIN_ABI_VERSION) +
        "; rebuild the plugin against taskpool " TASKPOOL_VERSION);
  }
  if (plugin->function_count == 0 && plugin->on_worker_start == nullptr &&
      plugin->on_worker_exit == nullptr) {
    return error("defines no task functions and no hooks");
  }
  for (size_t i = 0; i < plugin->function_count; ++i) {
    const taskpool_function_v1& function = plugin->functions[i];
    if (function.name == nullptr || function.call == nullptr) {
      return error("function table entry " + std::to_string(i) + " is empty");
    }
    Status status = registry.Register(
        function.name,
        WrapFunction(function,
                     std::string("plugin ") + path + " function " +
                         function.name,
                     lock_directory),
        path);
    if (!status.ok()) return error(status.message());
  }
  if (plugin->on_worker_start != nullptr) {
    registry.AddWorkerStartHook(
        {"plugin " + path, WrapHook(plugin->on_worker_start)});
  }
  if (plugin->on_worker_exit != nullptr) {
    registry.AddWorkerExitHook(
        {"plugin " + path, WrapHook(plugin->on_worker_exit)});
  }
  TP_LOG(kInfo) << "loaded plugin " << path << " (taskpool "
                << plugin->taskpool_version << ", " << plugin->function_count
                << " functions)";
  return Status::Ok();
}

}  // namespace

Status LoadPlugins(const std::vector<std::string>& paths,
                   const std::string& lock_directory, TaskRegistry& registry) {
  for (const std::string& path : paths) {
    Status status = LoadOne(path, lock_directory, registry);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

}  // namespace taskpool::daemon
