// How results and pool status look on the terminal and as JSON. Pure
// formatting: no I/O decisions beyond the stream it is handed.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "taskpool/client.hpp"

namespace taskpool::cli {

// `222377: false (worker 1022)`, or for a failure
// `abc: error INVALID_ARGUMENT: not a number (worker 1022)`.
std::string MapLine(const std::string& input, const TaskResult& result);

// The fields every result has in JSON: ok, output, error, code, worker_pid,
// queue_ms, run_ms, attempts.
nlohmann::json ResultJson(const TaskResult& result);

// One line of JSON. Outputs are bytes, not necessarily UTF-8; invalid
// sequences become U+FFFD rather than aborting the output.
std::string JsonLine(const nlohmann::json& value);

void PrintStatusTable(const PoolStatus& status, std::ostream& out);
nlohmann::json StatusJson(const PoolStatus& status);

}  // namespace taskpool::cli
