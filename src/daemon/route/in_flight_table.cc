#include "daemon/route/in_flight_table.h"

namespace taskpool::daemon {

InFlightTable::InFlightTable(uint32_t capacity) { tasks_.reserve(capacity); }

RoutedTask& InFlightTable::Store(RoutedTask task) {
  const uint32_t index = task.slot.index;
  // Slots are handed out lowest index first, so the vector grows only as
  // far as the deepest queue so far.
  if (index >= tasks_.size()) tasks_.resize(index + 1);
  std::optional<RoutedTask>& entry = tasks_[index];
  entry = std::move(task);
  ++size_;
  return *entry;
}

RoutedTask* InFlightTable::Find(TaskSlot slot) {
  RoutedTask* task = AtIndex(slot.index);
  return task != nullptr && task->slot.generation == slot.generation ? task : nullptr;
}

RoutedTask* InFlightTable::AtIndex(uint32_t index) {
  if (index >= tasks_.size() || !tasks_[index]) return nullptr;
  return &*tasks_[index];
}

void InFlightTable::Forget(TaskSlot slot) {
  if (Find(slot) == nullptr) return;
  tasks_[slot.index].reset();
  --size_;
}

}  // namespace taskpool::daemon
