#include "cli/session.h"

#include <algorithm>
#include <iostream>

#include "cli/cli_options.h"
#include "client/daemon_connection.h"
#include "client/handshake.h"
#include "base/socket_path.h"

namespace taskpool::cli {

namespace po = boost::program_options;

void ReportError(const std::string& message) {
  std::cerr << "taskpool: " << message << "\n";
}

namespace {

constexpr char kClientName[] = "taskpool-cli/" TASKPOOL_VERSION;

}  // namespace

Result<std::unique_ptr<Client>> Connect(const GlobalOptions& global,
                                        std::chrono::milliseconds connect_timeout) {
  ClientOptions options;
  options.socket_path = global.socket;
  options.client_name = kClientName;
  options.connect_timeout = connect_timeout;
  return Client::Connect(options);
}

int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return kExitOk;
    case ErrorCode::kDaemonNotRunning:
    case ErrorCode::kConnectionLost:
      return kExitUnreachable;
    default:
      return kExitFailure;
  }
}

std::unique_ptr<Client> ConnectOrReport(const GlobalOptions& global) {
  Result<std::unique_ptr<Client>> client = Connect(global);
  if (!client.ok()) {
    // The message already names the socket and what to do about it.
    ReportError(client.status().message());
    return nullptr;
  }
  return std::move(client).value();
}

std::optional<v1::StatusReply> FetchStatusReplyOrReport(const GlobalOptions& global,
                                                        const std::string& command,
                                                        bool quiet,
                                                        std::chrono::milliseconds wait) {
  // The public Client hands out PoolStatus only; the wire message comes
  // from the same connection code underneath it.
  Result<client::Handshake> handshake = client::OpenAndGreet(
      base::ResolveSocketPath(global.socket), kClientName, std::min(
          wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                    ClientOptions{}.connect_timeout)));
  if (!handshake.ok()) {
    // The message already names the socket and what to do about it.
    if (!quiet) ReportError(handshake.status().message());
    return std::nullopt;
  }
  client::DaemonConnection connection(std::move(handshake).value());
  v1::ClientMessage request;
  request.mutable_status();
  Result<v1::ServerMessage> reply = connection.Request(request, wait);
  if (!reply.ok()) {
    if (!quiet) ReportError(command + ": " + reply.status().ToString());
    return std::nullopt;
  }
  return std::move(*reply->mutable_status());
}

void AddTaskOptions(po::options_description* options) {
  // clang-format off
  options->add_options()
      ("timeout", po::value<double>()->value_name("S"),
       "kill a task that runs longer than S seconds; it ends TIMEOUT "
       "(default: the daemon's --task-timeout-ms)")
      ("deadline", po::value<double>()->value_name("S"),
       "give up on a task not finished S seconds after submission: still "
       "queued, it ends EXPIRED without running; running, TIMEOUT")
      ("retries", po::value<uint32_t>()->value_name("N"),
       "run a task again, up to N times, if its worker dies under it")
      ("lock", po::value<std::string>()->value_name("KEY"),
       "tasks with the same lock KEY never run at the same time");
  // clang-format on
}

namespace {

// Seconds from the command line as a duration; 0 stays "none".
std::chrono::milliseconds Seconds(const po::variables_map& vm, const char* name) {
  const double seconds = vm[name].as<double>();
  if (!(seconds > 0) || seconds > 30 * 24 * 3600) {
    throw UsageError(std::string("--") + name +
                     " must be a positive number of seconds (at most 30 days)");
  }
  // At least 1 ms: a positive value must not turn into "no limit".
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
}

}  // namespace

SubmitOptions ReadTaskOptions(const po::variables_map& vm) {
  SubmitOptions options;
  if (vm.count("timeout")) options.timeout = Seconds(vm, "timeout");
  if (vm.count("deadline")) options.deadline = Seconds(vm, "deadline");
  if (vm.count("retries")) options.max_retries = vm["retries"].as<uint32_t>();
  if (vm.count("lock")) options.lock = vm["lock"].as<std::string>();
  return options;
}

}  // namespace taskpool::cli
