#include "daemon/tasks/task_registry.h"

#include <algorithm>
#include <exception>
#include <new>
#include <utility>

#include "daemon/tasks/memory_limit.h"

namespace taskpool::daemon {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if none
// starts there (bad lead byte, truncated, overlong, surrogate, > U+10FFFF).
size_t ValidUtf8SequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char min_second = 0x80, max_second = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) min_second = 0xa0;  // overlong
    if (lead == 0xed) max_second = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) min_second = 0x90;  // overlong
    if (lead == 0xf4) max_second = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  return length;
}

// Error messages travel in protobuf `string` fields, which a peer refuses to
// parse unless they are valid UTF-8; a function that fails with arbitrary
// bytes (fail's payload, a plugin's exception text) must not be able to
// break the client's connection. Invalid bytes become U+FFFD.
void MakeValidUtf8(std::string& text) {
  size_t i = 0;
  while (i < text.size() && ValidUtf8SequenceAt(text, i) != 0) {
    i += ValidUtf8SequenceAt(text, i);
  }
  if (i == text.size()) return;  // the common case: nothing to copy
  std::string out(text, 0, i);
  while (i < text.size()) {
    const size_t length = ValidUtf8SequenceAt(text, i);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(text, i, length);
      i += length;
    }
  }
  text = std::move(out);
}

}  // namespace

Status TaskRegistry::Register(std::string name, TaskFunction function,
                              std::string plugin) {
  if (!function) {
    return Register(std::move(name), ContextualTaskFunction(), std::move(plugin));
  }
  return Register(std::move(name),
                  [function = std::move(function)](std::string_view payload,
                                                   const TaskContext&) {
                    return function(payload);
                  },
                  std::move(plugin));
}

Status TaskRegistry::Register(std::string name, ContextualTaskFunction function,
                              std::string plugin) {
  if (name.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "task function name must not be empty");
  }
  if (!function) {
    return Status(ErrorCode::kInvalidArgument,
                  "task function '" + name + "' has no body");
  }
  for (const Entry& entry : entries_) {
    if (entry.name == name) {
      return Status(ErrorCode::kInvalidArgument,
                    "task function '" + name + "' is already registered");
    }
  }
  entries_.push_back(Entry{std::move(name), std::move(function), std::move(plugin)});
  return Status::Ok();
}

void TaskRegistry::Refuse(std::string name, Status why) {
  refusals_.emplace_back(std::move(name), std::move(why));
}

Result<uint32_t> TaskRegistry::Find(std::string_view name) const {
  // A linear scan: registries hold a handful of names and lookups happen once
  // per submission in the supervisor, never on a worker's hot path.
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].name == name) return static_cast<uint32_t>(i);
  }
  for (const auto& [refused, why] : refusals_) {
    if (refused == name) return why;
  }
  std::string message = "unknown function '";
  // The name comes from a client; keep an absurdly long one from flooding
  // the error message and the logs.
  constexpr size_t kMaxShownName = 64;
  if (name.size() > kMaxShownName) {
    // The cut may split a multi-byte character; MakeValidUtf8 below mends it.
    message.append(name.substr(0, kMaxShownName));
    message += "...";
  } else {
    message.append(name);
  }
  message += "'; known functions: ";
  const std::vector<std::string> known = names();
  if (known.empty()) message += "(none)";
  for (size_t i = 0; i < known.size(); ++i) {
    if (i > 0) message += ", ";
    message += known[i];
  }
  MakeValidUtf8(message);
  return Status(ErrorCode::kUnknownFunction, std::move(message));
}

const std::string& TaskRegistry::name(uint32_t index) const {
  return entries_.at(index).name;
}

TaskOutcome TaskRegistry::Run(uint32_t index, std::string_view payload,
                             const TaskContext& context) const {
  if (index >= entries_.size()) {
    return TaskOutcome::Error(
        ErrorCode::kInternal,
        "no task function with index " + std::to_string(index));
  }
  const Entry& entry = entries_[index];
  // Exceptions must not escape into the worker loop (they do not cross
  // module boundaries); a throwing function is just a failed task.
  TaskOutcome outcome;
  try {
    outcome = entry.function(payload, context);
  } catch (const std::bad_alloc& e) {
    outcome = TaskOutcome::Error(ErrorCode::kOutOfMemory, e.what());
  } catch (const std::exception& e) {
    outcome = TaskOutcome::Error(ErrorCode::kTaskFailed, e.what());
  } catch (...) {
    outcome = TaskOutcome::Error(
        ErrorCode::kTaskFailed,
        "task function '" + entry.name + "' threw a non-standard exception");
  }
  // Whoever saw memory run out (an exception, a null from malloc, a
  // plugin), the client reads the same words and the limit.
  if (outcome.code == ErrorCode::kOutOfMemory) outcome = OutOfMemory(outcome.data);
  // Output is `bytes` on the wire and is passed through untouched; only an
  // error message has to be text.
  if (outcome.code != ErrorCode::kOk) MakeValidUtf8(outcome.data);
  return outcome;
}

namespace {

// Hooks are plugin code: like task functions, they must not let an
// exception escape into the worker.
Status RunHook(const WorkerHook& hook, std::string_view when) {
  Status status;
  try {
    status = hook.run();
  } catch (const std::exception& e) {
    status = Status(ErrorCode::kTaskFailed, e.what());
  } catch (...) {
    status = Status(ErrorCode::kTaskFailed, "threw a non-standard exception");
  }
  if (status.ok()) return status;
  return Status(status.code(), std::string(when) + " hook of " + hook.owner +
                                   " failed: " + status.message());
}

}  // namespace

Status TaskRegistry::RunWorkerStartHooks() const {
  for (const WorkerHook& hook : start_hooks_) {
    Status status = RunHook(hook, "on_worker_start");
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status TaskRegistry::RunWorkerExitHooks() const {
  Status first_failure;
  for (const WorkerHook& hook : exit_hooks_) {
    Status status = RunHook(hook, "on_worker_exit");
    if (!status.ok() && first_failure.ok()) first_failure = std::move(status);
  }
  return first_failure;
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const Entry& entry : entries_) out.push_back(entry.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<FunctionListing> TaskRegistry::Listing() const {
  std::vector<FunctionListing> out;
  for (const Entry& entry : entries_) out.push_back({entry.name, entry.plugin, ""});
  for (const auto& [name, why] : refusals_) {
    const bool registered = std::any_of(entries_.begin(), entries_.end(),
                                        [&](const Entry& entry) { return entry.name == name; });
    if (!registered) out.push_back({name, "", why.message()});
  }
  std::sort(out.begin(), out.end(), [](const FunctionListing& a, const FunctionListing& b) {
    return a.name < b.name;
  });
  return out;
}

}  // namespace taskpool::daemon
