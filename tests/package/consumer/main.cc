#include <iostream>
#include <taskpool/client.hpp>

int main() {
  auto client = taskpool::Client::Connect();  // $TASKPOOL_SOCKET or the default
  if (!client.ok()) {
    std::cerr << client.status().ToString() << '\n';  // DAEMON_NOT_RUNNING: ...
    return 1;
  }
  std::vector<std::string> numbers = {"222377", "454577", "565633"};
  for (const taskpool::TaskResult& r : (*client)->map("is_prime", numbers)) {
    if (!r.ok()) std::cerr << r.status().ToString() << '\n';
    else std::cout << r.output << " (worker " << r.worker_pid << ")\n";
  }
  return 0;
}
