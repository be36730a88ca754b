#include "daemon/route/backpressure.h"

#include <algorithm>

#include "daemon/route/in_flight_table.h"
#include "daemon/route/waiting_room.h"

namespace taskpool::daemon {

namespace {
// The router's records of one task, whichever line it is in: a
// WaitingTask or a RoutedTask, its entry at its connection, and the heap
// blocks behind them (each string of its Submit, its gate keys, the map
// node: about 48 bytes each), measured on a million held tasks.
constexpr uint64_t kTaskRecordBytes =
    std::max(sizeof(WaitingTask), sizeof(RoutedTask)) + sizeof(TaskEntry) + 256;
}  // namespace

uint64_t Backpressure::BytesOf(const v1::Submit& submit) {
  return kTaskRecordBytes + submit.payload().size() + submit.function().size() +
         submit.lock().size();
}

bool Backpressure::OverLimit(const ClientState& client) const {
  return client.tasks.size() >= max_in_flight_ || HeldBytes(client) >= max_memory_bytes_;
}

void Backpressure::PauseIfOverLimit(ClientState& client) {
  if (client.open() && OverLimit(client)) Pause(client);
}

void Backpressure::PauseForRoom(ClientState& client) { Pause(client); }

void Backpressure::Recheck(ClientState& client) {
  if (!client.open()) return;
  if (!client.paused) {
    PauseIfOverLimit(client);
    return;
  }
  if (!Ready(client)) return;
  std::erase(paused_, client.id);
  Resume(client);
}

void Backpressure::Resume(ClientState& client) {
  client.paused = false;
  client.client->ResumeReading();
}

void Backpressure::Pause(ClientState& client) {
  if (client.paused || !client.open()) return;
  client.paused = true;
  client.client->PauseReading();
  paused_.push_back(client.id);
}

void Backpressure::ResumeReady(ClientTable& clients) {
  std::erase_if(paused_, [&](uint64_t id) {
    ClientState* client = clients.Find(id);
    if (client == nullptr || !client->open()) return true;
    if (!Ready(*client)) return false;
    Resume(*client);
    return true;
  });
}

}  // namespace taskpool::daemon
