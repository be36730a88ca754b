// Calls the example plugin's typed `resize` function through the client
// library: once with call<>, then over many sizes with map<>, and checks
// from the responses that each worker ran the plugin's on_worker_start
// hook exactly once.
//
//   taskpoold --socket "$XDG_RUNTIME_DIR/tp.sock" --plugin libresize_plugin.so &
//   TASKPOOL_SOCKET="$XDG_RUNTIME_DIR/tp.sock" resize_client
//
// Exit status 0 when everything worked, 1 otherwise (with the reason).
#include <iostream>
#include <map>
#include <set>
#include <vector>

#include <taskpool/client.hpp>

#include "resize.pb.h"

namespace {

example::ResizeRequest MakeRequest(uint32_t width, uint32_t height,
                                   uint32_t max_side) {
  example::ResizeRequest request;
  request.set_width(width);
  request.set_height(height);
  request.set_max_side(max_side);
  return request;
}

void Print(const char* how, const example::ResizeRequest& request,
           const example::ResizeResponse& response) {
  std::cout << how << ": " << request.width() << "x" << request.height()
            << " -> " << response.width() << "x" << response.height()
            << " (worker " << response.worker_pid() << ")\n";
}

}  // namespace

int main() {
  auto client = taskpool::Client::Connect();  // $TASKPOOL_SOCKET or default
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 1;
  }

  const example::ResizeRequest one = MakeRequest(1920, 1080, 256);
  const taskpool::TypedResult<example::ResizeResponse> called =
      (*client)->call<example::ResizeResponse>("resize", one);
  if (!called.ok()) {
    std::cerr << "call: " << called.status().ToString() << "\n";
    return 1;
  }
  Print("call", one, called.response);

  std::vector<example::ResizeRequest> many;
  for (uint32_t i = 1; i <= 32; ++i) {
    many.push_back(MakeRequest(100 * i, 75 * i, 256));
  }
  const std::vector<taskpool::TypedResult<example::ResizeResponse>> mapped =
      (*client)->map<example::ResizeResponse>("resize", many);

  // What each worker's start hook recorded, by pid.
  std::map<int32_t, std::set<int64_t>> hook_starts;
  bool hook_ran_once = true;
  for (size_t i = 0; i < mapped.size(); ++i) {
    if (!mapped[i].ok()) {
      std::cerr << "map input " << i << ": " << mapped[i].status().ToString()
                << "\n";
      return 1;
    }
    const example::ResizeResponse& response = mapped[i].response;
    Print("map", many[i], response);
    hook_starts[response.worker_pid()].insert(
        response.worker_started_unix_us());
    hook_ran_once &= response.start_hook_runs() == 1 &&
                     response.worker_pid() == mapped[i].worker_pid;
  }
  for (const auto& [pid, starts] : hook_starts) {
    hook_ran_once &= starts.size() == 1;
  }
  if (!hook_ran_once) {
    std::cerr << "a worker's on_worker_start hook did not run exactly once\n";
    return 1;
  }
  std::cout << "start hook ran once in each of " << hook_starts.size()
            << " workers\n";
  return 0;
}
