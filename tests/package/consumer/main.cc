// A program outside the taskpool tree: runs one task on a running taskpoold.
// Socket: $TASKPOOL_SOCKET, else /run/taskpool/taskpoold.sock.
#include <iostream>
#include <taskpool/client.hpp>

int main() {
  auto client = taskpool::Client::Connect();
  if (!client.ok()) {
    std::cerr << client.status().ToString() << '\n';  // DAEMON_NOT_RUNNING: ...
    return 1;
  }
  taskpool::TaskResult result = (*client)->call("echo", "hi");
  if (!result.ok()) {
    std::cerr << result.status().ToString() << '\n';
    return 1;
  }
  std::cout << result.output << " (worker " << result.worker_pid << ")\n";
  return 0;
}
