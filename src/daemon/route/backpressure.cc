#include "daemon/route/backpressure.h"

namespace taskpool::daemon {

void Backpressure::PauseIfOverLimit(ClientState& client) {
  if (client.tasks.size() >= max_in_flight_) Pause(client);
}

void Backpressure::PauseForRoom(ClientState& client) { Pause(client); }

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
    if (client->waiting_for_room != 0 || client->tasks.size() >= max_in_flight_) return false;
    client->paused = false;
    client->client->ResumeReading();
    return true;
  });
}

}  // namespace taskpool::daemon
