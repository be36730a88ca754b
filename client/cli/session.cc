#include "client/cli/session.h"

#include <iostream>

namespace taskpool::cli {

namespace po = boost::program_options;

void ReportError(const std::string& message) {
  std::cerr << "taskpool: " << message << "\n";
}

std::unique_ptr<Client> ConnectOrReport(const GlobalOptions& global) {
  ClientOptions options;
  options.socket_path = global.socket;
  options.client_name = "taskpool-cli/" TASKPOOL_VERSION;
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) {
    // The message already names the socket and what to do about it.
    ReportError(client.status().message());
    return nullptr;
  }
  return std::move(client).value();
}

void AddTaskOptions(po::options_description* options) {
  options->add_options()(
      "timeout", po::value<uint32_t>()->value_name("MS"),
      "kill a task running longer than this (default: the daemon's)");
}

SubmitOptions ReadTaskOptions(const po::variables_map& vm) {
  SubmitOptions options;
  if (vm.count("timeout")) {
    options.timeout = std::chrono::milliseconds(vm["timeout"].as<uint32_t>());
  }
  return options;
}

}  // namespace taskpool::cli
