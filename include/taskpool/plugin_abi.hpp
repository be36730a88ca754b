// The C boundary between taskpoold and a plugin: what the daemon finds in
// a plugin it dlopen()s. Plain C, so exceptions and C++ objects never
// cross it. Plugin authors include <taskpool/plugin.hpp>, whose macros
// generate these structs; this header is included from there.
#pragma once

#include <cstddef>
#include <cstdint>

// Changing any struct below means bumping the ABI version
// (the _v1 suffix names the family of structs; abi_version is what the
// daemon checks). Version 2 added the named-lock callbacks and
// deadline_unix_us.

// The ABI this header describes. Tests build a plugin with a wrong one
// through TASKPOOL_TEST_PLUGIN_ABI_VERSION; nothing else should set it.
#define TASKPOOL_PLUGIN_ABI_VERSION 2
#ifdef TASKPOOL_TEST_PLUGIN_ABI_VERSION
#define TASKPOOL_PLUGIN_BUILT_ABI_VERSION TASKPOOL_TEST_PLUGIN_ABI_VERSION
#else
#define TASKPOOL_PLUGIN_BUILT_ABI_VERSION TASKPOOL_PLUGIN_ABI_VERSION
#endif

extern "C" {

// What the daemon hands a function for one task. Owned by the daemon,
// valid for the duration of the call.
struct taskpool_call_v1 {
  uint64_t task_id;  // slot-based: unique among tasks in flight, then reused
  uint32_t attempt;  // 1 for the first run, 2 after one retry, ...
  void* host;        // opaque; passed back to the callbacks below
  // Writes one line to the daemon's log, tagged with plugin and function.
  void (*log)(void* host, const char* message, size_t size);
  // Nonzero once the task should stop early: its client cancelled it
  // without kill, or disconnected, or the daemon is force-stopping.
  int (*cancelled)(void* host);
  // Reports the result: code 0 and the output bytes, or an error code
  // (taskpool::ErrorCode) and a message. Called exactly once; the daemon
  // copies the bytes.
  void (*finish)(void* host, int code, const char* data, size_t size);
  // Takes the named lock `name` (any bytes), waiting at most timeout_ms
  // (negative: no limit; 0: try once). Returns 0 and sets *handle when
  // taken, 1 when the wait ran out, 2 on error with a NUL-terminated reason
  // in `error` (at most `error_size` bytes).
  int (*lock)(void* host, const char* name, size_t name_size,
              int64_t timeout_ms, uint64_t* handle, char* error,
              size_t error_size);
  // Releases a lock taken by `lock`. Locks still held when the function
  // returns are released by the daemon then.
  void (*unlock)(void* host, uint64_t handle);
  // When the task must be done, in microseconds since the Unix epoch
  // (CLOCK_REALTIME); 0: no limit. The earlier of the submission's deadline
  // and the task's start plus its timeout; past it the daemon kills the
  // worker and the task ends TIMEOUT.
  int64_t deadline_unix_us;
};

typedef void (*taskpool_function_v1_fn)(const char* payload, size_t size,
                                        const taskpool_call_v1* call);

struct taskpool_function_v1 {
  const char* name;
  taskpool_function_v1_fn call;
};

// Returns 0 on success; otherwise writes a NUL-terminated reason into
// `error` (at most `error_size` bytes) and returns nonzero.
typedef int (*taskpool_hook_v1_fn)(char* error, size_t error_size);

struct taskpool_plugin_v1 {
  uint32_t abi_version;          // first, so any version can read it
  const char* taskpool_version;  // of the headers the plugin was built with
  size_t function_count;
  const taskpool_function_v1* functions;
  taskpool_hook_v1_fn on_worker_start;  // may be null
  taskpool_hook_v1_fn on_worker_exit;   // may be null
};

// The one symbol taskpoold looks up in a plugin.
#define TASKPOOL_PLUGIN_ENTRY_SYMBOL "taskpool_plugin_entry"
inline const taskpool_plugin_v1* taskpool_plugin_entry();

}  // extern "C"
