#include "daemon/route/waiting_room.h"

namespace taskpool::daemon {

bool WaitingRoom::AnyHeldWith(const std::vector<std::string>& keys) const {
  return std::any_of(keys.begin(), keys.end(),
                     [&](const std::string& key) { return held_keys_.contains(key); });
}

void WaitingRoom::Hold(WaitingTask task) {
  for (const std::string& key : task.keys) ++held_keys_[key];
  held_.push_back(std::move(task));
}

void WaitingRoom::WaitForRoom(WaitingTask task) {
  ++task.client->waiting_for_room;
  room_.push_back(std::move(task));
}

void WaitingRoom::Unhold(const WaitingTask& task) {
  for (const std::string& key : task.keys) {
    auto count = held_keys_.find(key);
    if (count != held_keys_.end() && --count->second == 0) held_keys_.erase(count);
  }
}

bool WaitingRoom::AnyDeadline() const {
  const auto has_deadline = [](const WaitingTask& task) { return task.submit.deadline_ms() != 0; };
  return std::any_of(room_.begin(), room_.end(), has_deadline) ||
         std::any_of(held_.begin(), held_.end(), has_deadline);
}

}  // namespace taskpool::daemon
