#include "daemon/route/client_table.h"

namespace taskpool::daemon {

ClientState& ClientTable::Open(TaskClient& client) {
  const uint64_t id = client.id();
  auto [entry, made] = clients_.try_emplace(id);
  ClientState& state = entry->second;
  if (made) {
    state.client = &client;
    state.id = id;
    state.uid = client.peer_uid();
    state.pid = client.peer_pid();
  }
  return state;
}

ClientState* ClientTable::Find(uint64_t id) {
  const auto entry = clients_.find(id);
  return entry == clients_.end() ? nullptr : &entry->second;
}

const ClientState* ClientTable::Find(uint64_t id) const {
  const auto entry = clients_.find(id);
  return entry == clients_.end() ? nullptr : &entry->second;
}

void ClientTable::MarkClosed(ClientState& state) {
  state.client = nullptr;
  state.paused = false;
}

void ClientTable::AddTask(ClientState& state, uint64_t client_id, uint64_t bytes) {
  state.tasks.emplace(client_id, TaskEntry{std::nullopt, bytes});
  state.held_bytes += bytes;
}

TaskClient* ClientTable::ForgetTask(ClientState& state, uint64_t client_id) {
  if (const auto entry = state.tasks.find(client_id); entry != state.tasks.end()) {
    state.held_bytes -= entry->second.bytes;
    state.tasks.erase(entry);
  }
  TaskClient* client = state.client;
  EraseIfDone(state);
  return client;
}

void ClientTable::EraseIfDone(ClientState& state) {
  if (!state.open() && state.tasks.empty()) clients_.erase(state.id);
}

}  // namespace taskpool::daemon
