#include "daemon/tasks/exec_task.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "daemon/tasks/child_process.h"
#include "taskpool/v1/exec.pb.h"

namespace taskpool::daemon {
namespace {

// Room in a response for everything but the two streams: the other fields
// and the streams' own tags and lengths take well under this.
constexpr uint64_t kResponseOverheadBytes = 1024;

Status InvalidRequest(std::string message) {
  return Status(ErrorCode::kInvalidArgument, "exec: " + std::move(message));
}

bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

// The request's env entries applied to the worker's environment (or to
// none, with clear_env). A later entry for a name replaces an earlier one.
Result<std::vector<std::string>> BuildEnvironment(const v1::ExecRequest& request) {
  std::vector<std::string> env;
  if (!request.clear_env()) {
    for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  }
  for (const std::string& entry : request.env()) {
    const size_t equals = entry.find('=');
    if (equals == 0 || equals == std::string::npos || HasNul(entry)) {
      return InvalidRequest("environment entry \"" + entry.substr(0, 64) +
                            "\" is not NAME=value");
    }
    const std::string_view name(entry.data(), equals + 1);  // with the '='
    std::erase_if(env, [&](const std::string& old) { return old.starts_with(name); });
    env.push_back(entry);
  }
  return env;
}

Result<ChildCommand> ToChildCommand(const v1::ExecRequest& request,
                                    uint64_t max_payload_bytes) {
  if (request.argv().empty() || request.argv(0).empty()) {
    return InvalidRequest("argv is empty; give at least the command to run");
  }
  for (int i = 0; i < request.argv_size(); ++i) {
    if (HasNul(request.argv(i))) {
      return InvalidRequest("argv[" + std::to_string(i) + "] contains a NUL byte");
    }
  }
  if (HasNul(request.cwd())) return InvalidRequest("cwd contains a NUL byte");
  Result<std::vector<std::string>> env = BuildEnvironment(request);
  if (!env.ok()) return env.status();

  ChildCommand command;
  command.argv.assign(request.argv().begin(), request.argv().end());
  command.env = std::move(env).value();
  command.cwd = request.cwd();
  command.stdin_data = request.stdin();
  command.timeout = std::chrono::milliseconds(request.timeout_ms());
  command.max_output_bytes = ExecOutputCap(request.max_output_bytes(), max_payload_bytes);
  return command;
}

v1::ExecResponse ToResponse(ChildOutcome outcome) {
  v1::ExecResponse response;
  response.set_exit_code(outcome.exit_code);
  response.set_signal(outcome.signal);
  response.set_stdout(std::move(outcome.stdout_data));
  response.set_stderr(std::move(outcome.stderr_data));
  response.set_stdout_truncated(outcome.stdout_truncated);
  response.set_stderr_truncated(outcome.stderr_truncated);
  response.set_timed_out(outcome.timed_out);
  response.set_duration_ms(static_cast<uint64_t>(outcome.duration.count()));
  return response;
}

}  // namespace

uint64_t ExecOutputCap(uint64_t requested, uint64_t max_payload_bytes) {
  const uint64_t wanted = requested != 0 ? requested : kDefaultExecOutputCap;
  const uint64_t room =
      max_payload_bytes > kResponseOverheadBytes ? max_payload_bytes - kResponseOverheadBytes : 0;
  return std::min(wanted, room / 2);
}

TaskOutcome ExecTask(std::string_view payload, uint64_t max_payload_bytes,
                     const TaskContext& context) {
  v1::ExecRequest request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return TaskOutcome::Error(ErrorCode::kInvalidArgument,
                              "exec expects a serialized taskpool.v1.ExecRequest "
                              "(proto/taskpool/v1/exec.proto)");
  }
  Result<ChildCommand> command = ToChildCommand(request, max_payload_bytes);
  if (!command.ok()) {
    return TaskOutcome::Error(command.status().code(), command.status().message());
  }
  command->cancelled = context.cancelled;
  Result<ChildOutcome> outcome = RunChild(*command);
  if (!outcome.ok()) {
    return TaskOutcome::Error(outcome.status().code(), "exec: " + outcome.status().message());
  }
  if (outcome->cancelled) {
    // Its client cancelled it or went away (taskpool map --halt now, Ctrl-C):
    // the command was stopped, and what it printed is nobody's result.
    return TaskOutcome::Error(ErrorCode::kCancelled,
                              "exec: cancelled; the command was stopped (SIGTERM, then "
                              "SIGKILL after " +
                                  std::to_string(kTerminateGrace.count()) + " ms)");
  }
  return TaskOutcome::Ok(ToResponse(std::move(outcome).value()).SerializeAsString());
}

void RegisterExec(TaskRegistry& registry, bool enabled, uint64_t max_payload_bytes) {
  if (!enabled) {
    registry.Refuse("exec", Status(ErrorCode::kPermissionDenied, kExecDisabledMessage));
    return;
  }
  (void)registry.Register(
      "exec", [max_payload_bytes](std::string_view payload, const TaskContext& context) {
        return ExecTask(payload, max_payload_bytes, context);
      });
}

}  // namespace taskpool::daemon
