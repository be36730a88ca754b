// Caps how many tasks sharing a key may be queued or running at once.
//
// Three kinds of key use it: a submission's lock key ("lock/KEY", limit 1:
// tasks with the same key never run at the same time, in any worker), a
// function with a concurrency limit ("function/NAME", from --limit
// NAME=N) and a client user under fair share ("user/UID", from
// --max-in-flight-per-user, one limit for every key with that prefix). A task enters all its gates at once or waits; its Pass gives
// the places back when destroyed, so a task that ends in any way (result,
// death of its worker, cancellation, expiry) releases its keys.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace taskpool::daemon {

class ConcurrencyGates {
 public:
  // The places a task holds. Move-only; an empty Pass holds nothing.
  class Pass {
   public:
    Pass() = default;
    Pass(Pass&& other) noexcept;
    Pass& operator=(Pass&& other) noexcept;
    ~Pass();

   private:
    friend class ConcurrencyGates;
    Pass(ConcurrencyGates* gates, std::vector<std::string> keys)
        : gates_(gates), keys_(std::move(keys)) {}
    void Release();

    ConcurrencyGates* gates_ = nullptr;
    std::vector<std::string> keys_;
  };

  // Sets how many tasks with `key` may be in at once (keys without a limit
  // have 1, which makes them locks).
  void SetLimit(const std::string& key, uint32_t limit);
  // Sets the limit of every key starting with `prefix` that has no limit
  // of its own.
  void SetPrefixLimit(const std::string& prefix, uint32_t limit);
  // Forgets every limit set above (a reload sets them again); tasks inside
  // the gates stay inside.
  void ClearLimits();
  bool HasLimit(const std::string& key) const;
  uint32_t LimitOf(const std::string& key) const;

  // A pass through every gate in `keys`, or nullopt (and nothing taken) if
  // any is full.
  std::optional<Pass> TryEnter(std::vector<std::string> keys);

  // Tasks inside the gate of `key` now.
  uint32_t active(const std::string& key) const;

 private:
  void Leave(const std::vector<std::string>& keys);

  std::unordered_map<std::string, uint32_t> limits_;
  std::vector<std::pair<std::string, uint32_t>> prefix_limits_;  // few
  std::unordered_map<std::string, uint32_t> active_;
};

}  // namespace taskpool::daemon
