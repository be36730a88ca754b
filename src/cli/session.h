// What every command that talks to the daemon shares: connecting, and
// reporting a failed connection the same way everywhere.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli/cli_options.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::cli {

// Connects to global.socket as the CLI; `connect_timeout` bounds the wait
// for the daemon's hello reply.
Result<std::unique_ptr<Client>> Connect(
    const GlobalOptions& global,
    std::chrono::milliseconds connect_timeout = ClientOptions{}.connect_timeout);

// Connects to global.socket. On failure prints the status's message to
// stderr and returns null; the caller exits with kExitUnreachable.
std::unique_ptr<Client> ConnectOrReport(const GlobalOptions& global);

// Connects and asks for the daemon's status; on failure reports it as
// "COMMAND: reason" (unless `quiet`) and returns nullopt, and the caller
// exits with kExitUnreachable. The wire message, not the library's
// PoolStatus: the renderer shared with the daemon (wire/prometheus_text.h)
// reads it, and so do the status and functions outputs.
std::optional<v1::StatusReply> FetchStatusReplyOrReport(
    const GlobalOptions& global, const std::string& command, bool quiet = false,
    std::chrono::milliseconds wait = std::chrono::seconds(10));

// The exit code for a task that ended with `code`: kExitOk, kExitUnreachable
// when the daemon was not there or went away, else kExitFailure.
int ExitCodeFor(ErrorCode code);

// "taskpool: " + message, on stderr.
void ReportError(const std::string& message);

// The task options shared by call and map (--timeout), and their reading.
void AddTaskOptions(boost::program_options::options_description* options);
SubmitOptions ReadTaskOptions(const boost::program_options::variables_map& vm);

}  // namespace taskpool::cli
