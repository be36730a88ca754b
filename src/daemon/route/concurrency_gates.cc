#include "daemon/route/concurrency_gates.h"

#include <algorithm>

namespace taskpool::daemon {

ConcurrencyGates::Pass::Pass(Pass&& other) noexcept
    : gates_(other.gates_), keys_(std::move(other.keys_)) {
  other.gates_ = nullptr;
}

ConcurrencyGates::Pass& ConcurrencyGates::Pass::operator=(Pass&& other) noexcept {
  if (this != &other) {
    Release();
    gates_ = other.gates_;
    keys_ = std::move(other.keys_);
    other.gates_ = nullptr;
  }
  return *this;
}

ConcurrencyGates::Pass::~Pass() { Release(); }

void ConcurrencyGates::Pass::Release() {
  if (gates_ != nullptr) gates_->Leave(keys_);
  gates_ = nullptr;
  keys_.clear();
}

void ConcurrencyGates::SetLimit(const std::string& key, uint32_t limit) {
  limits_[key] = limit;
}

void ConcurrencyGates::SetPrefixLimit(const std::string& prefix, uint32_t limit) {
  prefix_limits_.emplace_back(prefix, limit);
}

void ConcurrencyGates::ClearLimits() {
  limits_.clear();
  prefix_limits_.clear();
}

bool ConcurrencyGates::HasLimit(const std::string& key) const {
  if (limits_.contains(key)) return true;
  return std::any_of(prefix_limits_.begin(), prefix_limits_.end(),
                     [&](const auto& prefix) { return key.starts_with(prefix.first); });
}

uint32_t ConcurrencyGates::LimitOf(const std::string& key) const {
  if (const auto limit = limits_.find(key); limit != limits_.end()) return limit->second;
  for (const auto& [prefix, limit] : prefix_limits_) {
    if (key.starts_with(prefix)) return limit;
  }
  return 1;
}

uint32_t ConcurrencyGates::active(const std::string& key) const {
  const auto count = active_.find(key);
  return count == active_.end() ? 0 : count->second;
}

std::optional<ConcurrencyGates::Pass> ConcurrencyGates::TryEnter(
    std::vector<std::string> keys) {
  for (const std::string& key : keys) {
    if (active(key) >= LimitOf(key)) return std::nullopt;
  }
  for (const std::string& key : keys) ++active_[key];
  // Decided before `keys` is moved from (argument order is unspecified).
  ConcurrencyGates* holder = keys.empty() ? nullptr : this;
  return Pass(holder, std::move(keys));
}

void ConcurrencyGates::Leave(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    auto count = active_.find(key);
    if (count == active_.end()) continue;
    // Forget idle keys, so lock keys do not accumulate forever.
    if (--count->second == 0) active_.erase(count);
  }
}

}  // namespace taskpool::daemon
