#include "daemon/concurrency_gates.h"

namespace taskpool {

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

uint32_t ConcurrencyGates::LimitOf(const std::string& key) const {
  const auto limit = limits_.find(key);
  return limit == limits_.end() ? 1 : limit->second;
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

}  // namespace taskpool
