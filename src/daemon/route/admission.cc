#include "daemon/route/admission.h"

#include <algorithm>
#include <cstdint>

#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

namespace {

constexpr char kUserKeyPrefix[] = "user/";
// The gate of functions not yet in every worker (SetFunctionsOnEveryWorker).
constexpr char kRolloutKey[] = "rollout/new-functions";
// A key without a limit is a lock (limit 1), so a key whose limit a reload
// drops gets this instead: tasks it may still carry must not queue as on a
// lock.
constexpr uint32_t kUnlimited = UINT32_MAX;

std::string UserKey(uid_t uid) { return kUserKeyPrefix + std::to_string(uid); }

}  // namespace

Admission::Admission(const TaskRegistry& registry, const DaemonConfig& config,
                     ConcurrencyGates& gates)
    : registry_(registry),
      config_(config),
      gates_(gates),
      functions_on_every_worker_(static_cast<uint32_t>(registry.size())) {
  ApplyLimits();
}

void Admission::ApplyLimits() {
  gates_.ClearLimits();
  for (const std::string& key : ever_limited_) gates_.SetLimit(key, kUnlimited);
  for (const auto& [function, limit] : config_.function_limits) {
    std::string key = "function/" + function;
    gates_.SetLimit(key, limit);
    if (std::find(ever_limited_.begin(), ever_limited_.end(), key) == ever_limited_.end()) {
      ever_limited_.push_back(std::move(key));
    }
  }
  if (config_.max_in_flight_per_user != 0) {
    gates_.SetPrefixLimit(kUserKeyPrefix, config_.max_in_flight_per_user);
    user_share_ever_limited_ = true;
  } else if (user_share_ever_limited_) {
    gates_.SetPrefixLimit(kUserKeyPrefix, kUnlimited);
  }
  // Closed (0) while some worker lacks a function.
  gates_.SetLimit(kRolloutKey, functions_on_every_worker_ < registry_.size() ? 0 : kUnlimited);
  function_keys_.assign(registry_.size(), std::string());
  for (uint32_t index = 0; index < registry_.size(); ++index) {
    std::string key = "function/" + registry_.name(index);
    if (gates_.HasLimit(key)) function_keys_[index] = std::move(key);
  }
}

void Admission::SetFunctionsOnEveryWorker(uint32_t count) {
  functions_on_every_worker_ = count;
  ApplyLimits();
}

Status Admission::Check(const ClientState& client, const v1::Submit& submit,
                        const Status& function, const Result<uint32_t>& chunk_items,
                        bool accepting) const {
  if (!accepting) {
    return Status(ErrorCode::kShuttingDown, "taskpoold is shutting down and accepts no new tasks");
  }
  if (client.tasks.contains(submit.id())) {
    return Status(ErrorCode::kDuplicateId, "task id " + std::to_string(submit.id()) +
                                               " is already in flight on this connection");
  }
  if (!function.ok()) return function;
  if (!chunk_items.ok()) return chunk_items.status();
  // An input in the client's arena is a payload like any other.
  const uint64_t payload_bytes = submit.payload().size() + submit.payload_in_arena().size();
  if (payload_bytes > config_.max_payload_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "payload of " + std::to_string(payload_bytes) +
                      " bytes exceeds the limit of " + std::to_string(config_.max_payload_bytes) +
                      " bytes (taskpoold --max-payload-bytes)");
  }
  return Status::Ok();
}

std::vector<std::string> Admission::GateKeys(uid_t uid, const v1::Submit& submit,
                                             uint32_t function_index) const {
  std::vector<std::string> keys;
  if (function_index >= functions_on_every_worker_ && function_index < registry_.size()) {
    keys.push_back(kRolloutKey);
  }
  if (!submit.lock().empty()) keys.push_back("lock/" + submit.lock());
  if (HasFunctionLimit(function_index)) keys.push_back(function_keys_[function_index]);
  if (config_.max_in_flight_per_user != 0) keys.push_back(UserKey(uid));
  return keys;
}

bool Admission::AtUserShare(uid_t uid) const {
  if (config_.max_in_flight_per_user == 0) return false;
  const std::string key = UserKey(uid);
  return gates_.active(key) >= gates_.LimitOf(key);
}

}  // namespace taskpool::daemon
