// Tasks accepted but not yet queued, in two lines:
//
//   held:  waiting for their gates (a lock key, a function's --limit, the
//          user's share; see ConcurrencyGates). Tasks sharing a gate key
//          keep their submission order; tasks with other keys go ahead of
//          them, so one user flooding the pool waits behind its own share
//          while other users' tasks are queued.
//   room:  past their gates, waiting for a free slot in the queue, first
//          come first served. Their connections are paused (Backpressure),
//          so this line holds at most what was already read from each.
//
// Every task here is in its ClientState's `tasks` (as nullopt), and the
// room line keeps ClientState::waiting_for_room.
//
// Thread-safety: used only from the supervisor's event loop thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/route/client_table.h"
#include "daemon/route/concurrency_gates.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon {

struct WaitingTask {
  ClientState* client = nullptr;  // who asked; outlives the task
  v1::Submit submit;
  uint32_t function_index = 0;
  uint32_t tasks = 1;  // what it counts as (a chunk: its items)
  std::chrono::steady_clock::time_point accepted{};
  ConcurrencyGates::Pass pass;    // empty while held
  std::vector<std::string> keys;  // its gate keys, while held
};

class WaitingRoom {
 public:
  // Whether a held task has any of `keys`: a newcomer with one of them
  // must wait behind it, whether or not its gates are open.
  bool AnyHeldWith(const std::vector<std::string>& keys) const;

  // Puts `task` at the end of the held line (task.keys set, no pass).
  void Hold(WaitingTask task);
  // Puts `task` at the end of the room line (past its gates).
  void WaitForRoom(WaitingTask task);

  // Offers the room line, oldest first, to `enqueue(WaitingTask&)`, which
  // returns false while the queue is still full; the others leave the
  // line (queued, or answered by `enqueue`).
  template <typename Enqueue>
  void QueueWaiting(Enqueue enqueue);

  // Lets held tasks whose gates are open go on, in submission order: each
  // leaves the line and goes to `admit(WaitingTask&&, Pass)`, which must
  // not add to the held line.
  template <typename Admit>
  void ReleaseHeld(ConcurrencyGates& gates, Admit admit);

  // Takes out every task `matches` (a pure predicate) picks, the room line
  // first, each line in its order.
  template <typename Matches>
  std::vector<WaitingTask> TakeIf(Matches matches);

  // Whether any task here has a deadline (the tick must keep looking).
  bool AnyDeadline() const;

  size_t size() const { return held_.size() + room_.size(); }
  bool room_line_empty() const { return room_.empty(); }
  const std::deque<WaitingTask>& held() const { return held_; }
  const std::deque<WaitingTask>& room() const { return room_; }

 private:
  void Unhold(const WaitingTask& task);

  std::deque<WaitingTask> held_;
  std::deque<WaitingTask> room_;
  std::unordered_map<std::string, uint32_t> held_keys_;  // gate key -> held tasks
};

template <typename Enqueue>
void WaitingRoom::QueueWaiting(Enqueue enqueue) {
  while (!room_.empty()) {
    WaitingTask& next = room_.front();
    // Counted out first: once queued or answered, its ClientState may be
    // gone; `enqueue` touches nothing when the queue is still full.
    --next.client->waiting_for_room;
    if (!enqueue(next)) {
      ++next.client->waiting_for_room;
      return;
    }
    room_.pop_front();
  }
}

template <typename Admit>
void WaitingRoom::ReleaseHeld(ConcurrencyGates& gates, Admit admit) {
  // Keys of tasks still held earlier in the order: later tasks with any of
  // them must not overtake (and need no TryEnter, which keeps a long line
  // of one flooding user cheap to walk).
  std::unordered_set<std::string> blocked;
  for (auto entry = held_.begin(); entry != held_.end();) {
    const std::vector<std::string>& keys = entry->keys;
    std::optional<ConcurrencyGates::Pass> pass;
    if (std::none_of(keys.begin(), keys.end(),
                     [&](const std::string& key) { return blocked.contains(key); })) {
      pass = gates.TryEnter(keys);
    }
    if (!pass) {
      blocked.insert(keys.begin(), keys.end());
      ++entry;
      continue;
    }
    Unhold(*entry);
    WaitingTask admitted = std::move(*entry);
    entry = held_.erase(entry);
    admit(std::move(admitted), std::move(*pass));
  }
}

template <typename Matches>
std::vector<WaitingTask> WaitingRoom::TakeIf(Matches matches) {
  std::vector<WaitingTask> taken;
  // remove_if by hand: the matching tasks are moved out, not dropped.
  const auto take = [&](std::deque<WaitingTask>& line, bool held) {
    auto kept = line.begin();
    for (auto task = line.begin(); task != line.end(); ++task) {
      if (!matches(static_cast<const WaitingTask&>(*task))) {
        if (kept != task) *kept = std::move(*task);
        ++kept;
        continue;
      }
      if (held) {
        Unhold(*task);
      } else {
        --task->client->waiting_for_room;
      }
      taken.push_back(std::move(*task));
    }
    line.erase(kept, line.end());
  };
  take(room_, false);
  take(held_, true);
  return taken;
}

}  // namespace taskpool::daemon
