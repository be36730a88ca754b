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

// Connects to global.socket as the CLI.
Result<std::unique_ptr<Client>> Connect(const GlobalOptions& global);

// Connects to global.socket. On failure prints the status's message to
// stderr and returns null; the caller exits with kExitFailure.
std::unique_ptr<Client> ConnectOrReport(const GlobalOptions& global);

// Connects and asks for the daemon's status; on failure reports it as
// "COMMAND: reason" and returns nullopt. The wire message, not the
// library's PoolStatus: the renderer shared with the daemon
// (common/prometheus_text.h) reads it, and so does the status output.
std::optional<v1::StatusReply> FetchStatusReplyOrReport(const GlobalOptions& global,
                                                        const std::string& command);

// "taskpool: " + message, on stderr.
void ReportError(const std::string& message);

// The task options shared by call and map (--timeout), and their reading.
void AddTaskOptions(boost::program_options::options_description* options);
SubmitOptions ReadTaskOptions(const boost::program_options::variables_map& vm);

}  // namespace taskpool::cli
