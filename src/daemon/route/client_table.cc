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

TaskClient* ClientTable::ForgetTask(ClientState& state, uint64_t client_id) {
  state.tasks.erase(client_id);
  TaskClient* client = state.client;
  EraseIfDone(state);
  return client;
}

void ClientTable::EraseIfDone(ClientState& state) {
  if (!state.open() && state.tasks.empty()) clients_.erase(state.id);
}

}  // namespace taskpool::daemon
