#include "daemon/route/admission.h"

#include "daemon/tasks/task_registry.h"

namespace taskpool::daemon {

namespace {

constexpr char kUserKeyPrefix[] = "user/";

std::string UserKey(uid_t uid) { return kUserKeyPrefix + std::to_string(uid); }

}  // namespace

Admission::Admission(const TaskRegistry& registry, const DaemonConfig& config,
                     ConcurrencyGates& gates)
    : config_(config), gates_(gates), function_keys_(registry.size()) {
  for (const auto& [function, limit] : config.function_limits) {
    gates.SetLimit("function/" + function, limit);
  }
  if (config.max_in_flight_per_user != 0) {
    gates.SetPrefixLimit(kUserKeyPrefix, config.max_in_flight_per_user);
  }
  for (uint32_t index = 0; index < registry.size(); ++index) {
    std::string key = "function/" + registry.name(index);
    if (gates.HasLimit(key)) function_keys_[index] = std::move(key);
  }
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
  if (submit.payload().size() > config_.max_payload_bytes) {
    return Status(ErrorCode::kPayloadTooLarge,
                  "payload of " + std::to_string(submit.payload().size()) +
                      " bytes exceeds the limit of " + std::to_string(config_.max_payload_bytes) +
                      " bytes (taskpoold --max-payload-bytes)");
  }
  return Status::Ok();
}

std::vector<std::string> Admission::GateKeys(uid_t uid, const v1::Submit& submit,
                                             uint32_t function_index) const {
  std::vector<std::string> keys;
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
