#include "cli/exec_job.h"

#include <string.h>

#include <iostream>

#include "cli/output.h"

namespace taskpool::cli {

namespace po = boost::program_options;

namespace {

// "SIGKILL (signal 9)", or "signal 77" for one without a name.
std::string SignalName(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  const std::string number = "signal " + std::to_string(signal_number);
  if (abbreviation == nullptr) return number;
  return "SIG" + std::string(abbreviation) + " (" + number + ")";
}

std::string WhyNotSuccess(const v1::ExecResponse& response) {
  if (response.timed_out()) {
    return "timed out (--timeout-ms) and was killed" +
           (response.signal() != 0 ? " by " + SignalName(response.signal()) : std::string());
  }
  if (response.signal() != 0) return "was killed by " + SignalName(response.signal());
  if (response.exit_code() != 0) {
    return "exited with status " + std::to_string(response.exit_code());
  }
  return "";
}

void NoteTruncation(const std::string& who, const char* stream, bool truncated,
                    size_t kept) {
  if (!truncated) return;
  std::cerr << "taskpool: " << who << ": " << stream << " truncated to " << kept
            << " bytes (--max-output-bytes)\n";
}

nlohmann::json ResponseJson(const v1::ExecResponse& response) {
  return {
      {"exit_code", response.exit_code()},
      {"signal", response.signal()},
      {"stdout", response.stdout()},
      {"stderr", response.stderr()},
      {"stdout_truncated", response.stdout_truncated()},
      {"stderr_truncated", response.stderr_truncated()},
      {"timed_out", response.timed_out()},
      {"duration_ms", response.duration_ms()},
  };
}

}  // namespace

std::string ShellQuote(std::string_view word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";  // close, an escaped quote, reopen
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

std::string ExpandTemplate(std::string_view command_template, std::string_view argument) {
  const std::string quoted = ShellQuote(argument);
  std::string command;
  bool replaced = false;
  for (size_t i = 0; i < command_template.size(); ++i) {
    if (command_template.substr(i, 2) == "{}") {
      command += quoted;
      replaced = true;
      ++i;
    } else {
      command += command_template[i];
    }
  }
  if (!replaced) command += " " + quoted;
  return command;
}

void AddExecOptions(po::options_description* options) {
  // clang-format off
  options->add_options()
      ("cwd", po::value<std::string>()->value_name("DIR"),
       "run the command in DIR (default: the daemon's directory)")
      ("env", po::value<std::vector<std::string>>()->composing()->value_name("NAME=VALUE"),
       "set an environment variable for the command (repeatable); the "
       "rest of its environment is the daemon's")
      ("clear-env", "start the command with only the --env variables")
      ("timeout-ms", po::value<uint32_t>()->value_name("N"),
       "kill the command (SIGTERM, then SIGKILL after 1 s) if it runs "
       "longer than N ms, and report the output it made until then")
      ("max-output-bytes", po::value<uint64_t>()->value_name("N"),
       "keep at most N bytes of each of stdout and stderr (default 1 MiB, "
       "at most half the daemon's --max-payload-bytes)");
  // clang-format on
}

v1::ExecRequest ReadExecOptions(const po::variables_map& vm) {
  v1::ExecRequest request;
  if (vm.count("cwd")) request.set_cwd(vm["cwd"].as<std::string>());
  if (vm.count("env")) {
    for (const std::string& entry : vm["env"].as<std::vector<std::string>>()) {
      const size_t equals = entry.find('=');
      if (equals == 0 || equals == std::string::npos) {
        throw UsageError("--env takes NAME=VALUE, not '" + entry + "'");
      }
      request.add_env(entry);
    }
  }
  request.set_clear_env(vm.count("clear-env") != 0);
  if (vm.count("timeout-ms")) request.set_timeout_ms(vm["timeout-ms"].as<uint32_t>());
  if (vm.count("max-output-bytes")) {
    request.set_max_output_bytes(vm["max-output-bytes"].as<uint64_t>());
  }
  return request;
}

std::string ShowExecResult(const GlobalOptions& global, const TaskResult& result,
                           const std::string& who, nlohmann::json fields) {
  v1::ExecResponse response;
  std::string why;
  if (!result.ok()) {
    why = "failed: " + result.status().ToString();
  } else if (!response.ParseFromString(result.output)) {
    why = "failed: the daemon's answer is not an ExecResponse";
  } else {
    why = WhyNotSuccess(response);
  }

  if (global.json) {
    nlohmann::json line = ResultJson(result);
    line.erase("output");  // the serialized response, decoded below
    if (fields.is_object()) line.update(fields);
    if (result.ok()) line.update(ResponseJson(response));
    std::cout << JsonLine(line) << "\n";
    return why;
  }
  if (!result.ok()) return why;
  std::cout << response.stdout();
  std::cout.flush();  // before stderr, so a terminal shows them in order
  std::cerr << response.stderr();
  NoteTruncation(who, "stdout", response.stdout_truncated(), response.stdout().size());
  NoteTruncation(who, "stderr", response.stderr_truncated(), response.stderr().size());
  return why;
}

}  // namespace taskpool::cli
