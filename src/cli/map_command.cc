// taskpool map FN ARG... | FN - | --exec TEMPLATE FILE...
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/unique_fd.h"
#include "cli/commands.h"
#include "cli/exec_job.h"
#include "cli/exec_template.h"
#include "cli/map_run.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

namespace po = boost::program_options;

// Tasks kept in flight by a map of a function: enough that the pool never
// waits for the CLI's round trips even at chunksize 1 (issue 12), within
// what the daemon lets one connection have in flight.
constexpr uint32_t kMapWindowTasks = 1024;
// The daemon's default --max-in-flight, for a daemon that announces none.
constexpr uint32_t kAssumedMaxInFlight = 4096;

// How many inputs map keeps in flight. Shell jobs keep the library's
// default (four per worker): each holds up to two MiB of output while it
// waits for its turn to be shown, and a job takes far longer than a round
// trip anyway.
size_t MapWindow(const ServerInfo& server, size_t chunksize, bool shell_jobs) {
  const size_t library_default = 4 * chunksize * std::max<uint32_t>(server.workers, 1);
  if (shell_jobs) return library_default;
  const uint32_t limit = server.max_in_flight_per_connection != 0
                             ? server.max_in_flight_per_connection
                             : kAssumedMaxInFlight;
  return std::max(library_default, std::min(limit, kMapWindowTasks) * chunksize);
}

// Where the inputs come from, as the command line says.
struct InputPlan {
  std::vector<std::string> arguments;  // when given on the command line
  bool from_stream = false;            // else: stdin or --arg-file
  std::string arg_file;                // empty: stdin
  char separator = '\n';
};

InputPlan PlanInputs(const Arguments& args, bool shell_jobs) {
  InputPlan plan;
  // With --exec there is no FN: the first word is already an input.
  if (shell_jobs && args.count("FN")) plan.arguments.push_back(args["FN"].as<std::string>());
  if (args.count("ARG")) {
    const auto& rest = args["ARG"].as<std::vector<std::string>>();
    plan.arguments.insert(plan.arguments.end(), rest.begin(), rest.end());
  }
  if (args.count("null")) plan.separator = '\0';
  if (args.count("arg-file")) {
    if (!plan.arguments.empty()) throw UsageError("map: give ARGs or --arg-file, not both");
    plan.from_stream = true;
    plan.arg_file = args["arg-file"].as<std::string>();
    return plan;
  }
  if (plan.arguments.size() == 1 && plan.arguments[0] == "-") {
    plan.arguments.clear();
    plan.from_stream = true;
    return plan;
  }
  if (plan.arguments.empty()) {
    if (isatty(STDIN_FILENO)) {
      throw UsageError("map: missing ARG: give inputs as arguments, - (or a pipe) for "
                       "stdin, or --arg-file FILE");
    }
    plan.from_stream = true;
  } else if (args.count("null")) {
    throw UsageError("map: -0 separates inputs read from stdin or --arg-file, not ARGs");
  }
  return plan;
}

void AddMapOptions(po::options_description* options) {
  // clang-format off
  options->add_options()
      ("chunksize", po::value<size_t>()->default_value(1)->value_name("N"),
       "run inputs N at a time as one task in one worker (Pool.map's "
       "chunksize: much faster for small tasks; a worker dying fails its "
       "whole chunk)")
      ("unordered", "print results as they finish, not in input order")
      ("null,0", "inputs on stdin or in --arg-file end with a NUL byte, not a "
                 "newline, and are taken byte for byte (find -print0)")
      ("arg-file,a", po::value<std::string>()->value_name("FILE"),
       "read the inputs from FILE, one per line (or per NUL with -0)")
      ("tag", "print each result as 'ARG: OUTPUT (worker PID)' (the default)")
      ("no-tag", "print only each output, one per line; failures go to stderr")
      ("progress", po::value<std::string>()->default_value("auto")->value_name("WHEN"),
       "a live progress line on stderr: auto (when stderr is a terminal and "
       "TERM is not dumb), always or never; stdout is the same either way")
      ("joblog", po::value<std::string>()->value_name("FILE"),
       "write one line per finished task or job to FILE, in GNU parallel's "
       "joblog format")
      ("halt", po::value<std::string>()->default_value("never")->value_name("WHEN"),
       "stop early, as GNU parallel's --halt: now,fail=N after N failures, "
       "now,success=N, now,done=N; what is still queued or running is "
       "cancelled, and results show as they finish (as --unordered)")
      ("exec", po::value<std::string>()->value_name("TEMPLATE"),
       "run shell jobs (like GNU parallel): every argument is a FILE, and "
       "the job runs TEMPLATE with {} replaced by it, {.} by it without "
       "extension, {/} by its base name, {//} by its directory, {/.} by its "
       "base name without extension (each shell-quoted) and {#} by the job's "
       "number; with none of them the FILE is appended; needs taskpoold "
       "--enable-exec");
  // clang-format on
}

}  // namespace

CommandSpec MapSpec() {
  CommandSpec spec{
      .name = "map",
      .synopsis = "map [OPTIONS] FN [ARG... | - | --arg-file FILE] | --exec TEMPLATE [FILE...]",
      .summary =
          "Runs FN on every ARG (or every line of stdin, given - or with no ARG "
          "and stdin not a terminal; every NUL-terminated record with -0) and "
          "prints one line per input, in input order:\n"
          "  ARG: OUTPUT (worker PID)\n"
          "  ARG: error CODE: MESSAGE (worker PID)\n"
          "(\"worker PID on NODE\" when the daemon is part of a cluster).\n"
          "With --no-tag, only each OUTPUT (errors on stderr); with --json, one "
          "TaskRecord per input, outputs in base64.\n"
          "With --exec, runs the shell command TEMPLATE once per FILE "
          "(/bin/sh -c, with GNU parallel's replacement strings) and prints "
          "each job's stdout and stderr, in input order.\n"
          "Exits 1 if any task failed; with --exec, with the number of failed "
          "jobs (at most 100).",
      // FN is checked in RunMap: with --exec there is none.
      .positionals = {{"FN", false, false, WordKind::kFunction},
                      {"ARG", true, false, WordKind::kFile}},
      .choices = {{"progress", {"auto", "always", "never"}},
                  {"halt", {"never", "now,fail=1", "now,success=1", "now,done=1"}}},
      .files_only_with = "exec"};
  AddMapOptions(&spec.options);
  AddTaskOptions(&spec.options);
  AddExecOptions(&spec.options);
  return spec;
}

namespace {

MapRunSettings ReadRunSettings(const Arguments& args, bool shell_jobs) {
  MapRunSettings settings;
  settings.halt = HaltPolicy::Parse(args["halt"].as<std::string>());
  settings.shell_jobs = shell_jobs;
  // A failure must stop the run when it happens, not once every result
  // before it is shown (an ordered stream would hold it back behind a slow
  // job): with --halt, results show as they finish.
  settings.ordered =
      args.count("unordered") == 0 && settings.halt.count == HaltPolicy::Count::kNever;
  settings.failed = [shell_jobs](const TaskResult& result) {
    return shell_jobs ? !InterpretExecResult(result).why.empty() : !result.ok();
  };
  return settings;
}

// What each input becomes and how its result is shown.
struct MapShape {
  InputsInFlight::ToPayload to_payload;  // empty: the input is the payload
  ItemHandler show;
};

MapShape ShapeFor(const GlobalOptions& global, const Arguments& args,
                  const std::string& function, bool shell_jobs, OutputStreams& streams) {
  if (!shell_jobs) {
    const TagMode tag = args.count("no-tag") ? TagMode::kNoTag : TagMode::kTag;
    return {{}, TaskItemHandler(global, function, tag, streams)};
  }
  const std::string command_template = args["exec"].as<std::string>();
  auto command_of = [command_template](const std::string& file, uint64_t seq) {
    return ExpandTemplate(command_template, file, seq);
  };
  auto to_payload = [request = ReadExecOptions(args), command_of](const std::string& file,
                                                                  size_t index) mutable {
    request.clear_argv();
    request.add_argv("/bin/sh");
    request.add_argv("-c");
    request.add_argv(command_of(file, index + 1));
    return request.SerializeAsString();
  };
  return {to_payload, ExecItemHandler(global, command_of, streams)};
}

// The descriptor the inputs are read from (stdin or --arg-file); -1 after
// reporting why the file cannot be opened.
// The --arg-file, opened; without one, an empty UniqueFd (stdin is read).
// nullopt, reported, when the file cannot be opened.
std::optional<base::UniqueFd> OpenArgFile(const InputPlan& plan) {
  if (plan.arg_file.empty()) return base::UniqueFd();
  base::UniqueFd fd(open(plan.arg_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    ReportError("map: cannot open --arg-file '" + plan.arg_file + "': " + std::strerror(errno));
    return std::nullopt;
  }
  return fd;
}

void CheckOptions(const Arguments& args, bool shell_jobs) {
  if (args["chunksize"].as<size_t>() == 0) {
    throw UsageError("map: --chunksize must be at least 1");
  }
  if (!shell_jobs && args.count("FN") == 0) throw UsageError("map: missing FN");
  for (const char* option : {"cwd", "env", "clear-env", "timeout-ms", "max-output-bytes"}) {
    if (!shell_jobs && args.count(option)) {
      throw UsageError(std::string("map: --") + option + " only applies with --exec");
    }
  }
  if (args.count("tag") && args.count("no-tag")) {
    throw UsageError("map: --tag and --no-tag contradict each other");
  }
}

}  // namespace

int RunMap(const GlobalOptions& global, const Arguments& args) {
  const bool shell_jobs = args.count("exec") != 0;
  CheckOptions(args, shell_jobs);
  const size_t chunksize = args["chunksize"].as<size_t>();
  const ProgressMode progress_mode = ParseProgressMode(args["progress"].as<std::string>());
  MapRunSettings settings = ReadRunSettings(args, shell_jobs);
  const InputPlan plan = PlanInputs(args, shell_jobs);
  if (!plan.from_stream) settings.total = plan.arguments.size();
  const std::string function = shell_jobs ? "exec" : args["FN"].as<std::string>();

  OutputStreams streams;
  MapShape shape = ShapeFor(global, args, function, shell_jobs, streams);
  std::unique_ptr<JobLog> job_log;
  if (args.count("joblog")) {
    Result<std::unique_ptr<JobLog>> opened = JobLog::Open(args["joblog"].as<std::string>());
    if (!opened.ok()) {
      ReportError("map: " + opened.status().message());
      return kExitFailure;
    }
    job_log = std::move(opened).value();
  }

  std::unique_ptr<Client> client = ConnectOrReport(global);
  if (client == nullptr) return kExitUnreachable;
  const std::optional<base::UniqueFd> arg_file = OpenArgFile(plan);
  if (!arg_file) return kExitFailure;
  RecordReader reader(*arg_file ? arg_file->get() : STDIN_FILENO, plan.separator);
  InputsInFlight inputs(plan.from_stream ? ReaderInputs(reader) : ArgumentInputs(plan.arguments),
                        std::move(shape.to_payload));
  const size_t window = MapWindow(client->server_info(), chunksize, shell_jobs);
  const SubmitOptions options = ReadTaskOptions(args);
  ResultStream stream =
      settings.ordered
          ? client->imap(function, inputs.Source(), chunksize, window, options)
          : client->imap_unordered(function, inputs.Source(), chunksize, window, options);
  std::unique_ptr<ProgressMeter> progress = ProgressMeter::Make(progress_mode);
  int code =
      RunMapStream(stream, inputs, shape.show, streams, progress.get(), job_log.get(), settings);
  if (!reader.error().empty() && code == kExitOk) {
    ReportError("map: " + reader.error());
    code = kExitFailure;
  }
  return code;
}

}  // namespace taskpool::cli
