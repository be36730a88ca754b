// taskpool client library: submit tasks to a running taskpoold and await
// their results, with the vocabulary of Python's multiprocessing.Pool.
//
//   auto client = taskpool::Client::Connect();          // $TASKPOOL_SOCKET
//   if (!client.ok()) { std::cerr << client.status().ToString(); return 1; }
//   taskpool::TaskResult r = (*client)->call("is_prime", "454577");
//   if (r.ok()) std::cout << r.output << " (worker " << r.worker_pid << ")\n";
//
// One Client is one connection to the daemon, multiplexing any number of
// tasks: submissions are pipelined and results come back as they finish.
// Submitting never waits for the daemon to read: what it cannot take yet
// waits in the client, within a budget (ClientOptions::max_unsent_bytes).
// A call() that is the only task waiting reads its own result on the
// calling thread, so a round trip costs one wake-up of that thread.
//
// Thread-safety: a Client is safe for concurrent use from many threads
// without external synchronization. Callbacks passed to submit() run on the
// client's internal reader thread (or at once on the submitting thread when
// the task fails before it is sent, or on the thread destroying the
// Client); they must not block for long, must not
// call blocking methods (call, map, status, ping, wait on a future) of the
// same Client, and must not destroy it.
//
// Errors are values: every task ends in exactly one TaskResult whose `code`
// says what happened, including failures of the connection itself
// (DAEMON_NOT_RUNNING, CONNECTION_LOST, WAIT_TIMEOUT). Nothing in this API
// waits forever on a daemon that has gone away: when the connection breaks,
// every pending task completes with CONNECTION_LOST at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskpool/client_options.hpp"
#include "taskpool/status.hpp"

namespace taskpool {

// The outcome of one task.
struct TaskResult {
  ErrorCode code = ErrorCode::kOk;
  std::string error;   // why, when !ok()
  std::string output;  // the function's output, when ok()
  int worker_pid = 0;  // 0 if the task never ran
  std::chrono::microseconds queue_time{0};  // accepted -> started
  std::chrono::microseconds run_time{0};    // started -> finished
  uint32_t attempts = 0;
  // Wall-clock start and finish of the last run (to the microsecond); the
  // clock's epoch when the task never ran.
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point finished{};
  // The node (taskpoold --node-name) that ran it when the daemon is part of
  // a cluster (--cluster): the one asked, or another (worker_pid is then a
  // pid there). Empty without a cluster.
  std::string node;

  bool ok() const { return code == ErrorCode::kOk; }
  // The code and message as a Status (Ok() when ok()).
  Status status() const { return ok() ? Status::Ok() : Status(code, error); }
};

// What a worker slot is doing (taskpool.v1.WorkerState, value for value).
enum class WorkerState : int {
  kUnknown = 0,   // the daemon did not say (older than this client), or a
                  // state newer than this client
  kStarting = 1,  // forked, not yet attached to the queue
  kIdle = 2,      // waiting for a task
  kBusy = 3,      // running a task (current_function says which)
  kDead = 4,      // ended, waiting for its respawn (last_exit says how)
  kStopped = 5,   // stopped (SIGSTOP, a debugger): runs nothing until SIGCONT
};

// "unknown", "starting", "idle", "busy", "dead", "stopped".
std::string_view WorkerStateName(WorkerState state);

// The daemon's view of its pool (see taskpool.v1.StatusReply).
struct WorkerInfo {
  uint32_t index = 0;
  int pid = 0;
  WorkerState state = WorkerState::kUnknown;
  uint64_t tasks_done = 0;
  std::string current_function;
  std::chrono::milliseconds current_run_time{0};
  uint32_t restarts = 0;
  std::string last_exit;
  uint64_t rss_bytes = 0;  // resident memory of the worker process
  std::chrono::milliseconds cpu_user{0};    // CPU time it has used
  std::chrono::milliseconds cpu_system{0};
  // Asked to finish its task and exit (a rolling restart, fewer workers
  // after a reload); its replacement is listed too.
  bool retiring = false;
};

// A latency distribution over every task since the daemon started.
struct LatencyInfo {
  uint64_t count = 0;
  std::chrono::microseconds p50{0};
  std::chrono::microseconds p90{0};
  std::chrono::microseconds p99{0};
  std::chrono::microseconds max{0};
};

// Counters and latencies of one function.
struct FunctionInfo {
  std::string name;
  uint64_t submitted = 0;
  uint64_t succeeded = 0;
  // Finished tasks that did not succeed and were not cancelled, by error
  // code.
  std::vector<std::pair<ErrorCode, uint64_t>> failed;
  uint64_t cancelled = 0;  // ended CANCELLED or dropped with their connection
  uint64_t in_flight = 0;  // accepted, not yet ended
  // submitted == succeeded + the sum of failed + cancelled + in_flight.
  LatencyInfo queue_wait;  // accepted -> started
  LatencyInfo run_time;    // started -> finished
};

// One client user's tasks (fair share, taskpoold --max-in-flight-per-user).
struct UserInfo {
  uint32_t uid = 0;
  std::string name;        // from the daemon's user database; "" if none
  uint32_t in_flight = 0;  // accepted, not held, not yet finished
  uint32_t held = 0;       // held back because the user is at its limit
};

// One node of a cluster (taskpoold --cluster), from its last heartbeat.
struct NodeInfo {
  std::string name;
  uint32_t workers = 0;
  uint32_t busy = 0;
  uint32_t queued = 0;
  std::chrono::milliseconds since_heartbeat{0};
  bool self = false;  // the daemon asked
};

// The daemon's part in a cluster; `enabled` is false without --cluster.
struct ClusterInfo {
  bool enabled = false;
  std::string node;   // --node-name
  std::string queue;  // --cluster-queue
  bool connected = false;  // to NATS, with the streams in place
  std::string problem;     // why not connected
  std::vector<NodeInfo> nodes;  // live nodes, by name
  // This daemon's clients' tasks: published, results back, still out.
  uint64_t published = 0;
  uint64_t remote_results = 0;
  uint32_t remote_in_flight = 0;
  // Tasks this daemon fetched from the queue, of which redeliveries.
  uint64_t fetched = 0;
  uint64_t redelivered = 0;
};

struct PoolStatus {
  std::vector<WorkerInfo> workers;
  uint32_t queue_depth = 0;
  uint32_t queue_capacity = 0;
  uint32_t running = 0;
  std::chrono::milliseconds uptime{0};
  uint32_t connections = 0;
  uint64_t tasks_submitted = 0;
  uint64_t tasks_succeeded = 0;
  uint64_t tasks_failed = 0;     // errors other than CANCELLED
  uint64_t tasks_cancelled = 0;  // by any reason (taskpool.v1.CancelCount)
  uint64_t tasks_in_flight = 0;  // accepted, not yet ended
  uint64_t workers_died = 0;
  std::string server_version;
  int daemon_pid = 0;
  // Functions called at least once, by name.
  std::vector<FunctionInfo> functions;
  // Users with tasks in flight or held, by uid.
  std::vector<UserInfo> users;
  uint32_t max_in_flight_per_user = 0;  // 0: no per-user limit
  uint32_t slowlog_ms = 0;              // 0: slow log off
  ClusterInfo cluster;
};

// What the daemon said in its hello reply.
struct ServerInfo {
  std::string server_version;
  uint64_t max_payload_bytes = 0;
  uint32_t workers = 0;
  uint32_t queue_capacity = 0;
  // Tasks one connection may have in flight (taskpoold --max-in-flight);
  // submitting more waits for room. 0: the daemon announced no limit.
  uint32_t max_in_flight_per_connection = 0;
};

namespace client {
class MapOutputsBuilder;
}  // namespace client

// What Client::map_outputs returns: each input's output, or why it failed,
// in input order. The outputs are views into the buffers they arrived in
// (one per chunk), not a TaskResult each: for a million small items that
// is 20 bytes per item where map() builds, moves and frees 150. The views
// live as long as this object; it moves but does not copy.
//
//   taskpool::MapOutputs verdicts = client->map_outputs("is_prime", numbers, 256);
//   for (size_t i = 0; i < verdicts.size(); ++i) {
//     if (verdicts.ok(i)) std::cout << numbers[i] << ": " << verdicts[i] << "\n";
//   }
class MapOutputs {
 public:
  MapOutputs() = default;
  MapOutputs(MapOutputs&&) noexcept = default;
  MapOutputs& operator=(MapOutputs&&) noexcept = default;
  MapOutputs(const MapOutputs&) = delete;
  MapOutputs& operator=(const MapOutputs&) = delete;

  size_t size() const { return outputs_.size(); }
  // Whether input `i` succeeded.
  bool ok(size_t i) const { return codes_[i] == ErrorCode::kOk; }
  // Input `i`'s output; empty when it failed.
  std::string_view operator[](size_t i) const { return outputs_[i]; }
  // Ok(), or the code and message input `i` failed with.
  Status status(size_t i) const;
  // How many inputs failed.
  size_t failed() const { return errors_.size(); }

 private:
  friend class client::MapOutputsBuilder;
  // A deque, not a vector: appending never moves a buffer, so views into
  // short (in-place) strings stay valid, and neither does moving the
  // container.
  std::deque<std::string> buffers_;
  std::vector<std::string_view> outputs_;
  std::vector<ErrorCode> codes_;
  std::vector<std::pair<size_t, std::string>> errors_;  // by input, ascending
};

class ResultStream;
template <typename Response>
struct TypedResult;
template <typename Response>
class TypedResultStream;

class Client {
 public:
  // Connects and exchanges hellos. Errors: DAEMON_NOT_RUNNING (nothing
  // listens on the socket; the message names the path), VERSION_MISMATCH,
  // CONNECTION_LOST, WAIT_TIMEOUT (no hello reply within connect_timeout).
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options = {});

  // Closes the connection. Tasks still pending complete with CANCELLED for
  // any future or callback still waiting on them.
  // REQUIRES: not called from one of this Client's callbacks.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ServerInfo& server_info() const;
  const std::string& socket_path() const;

  // Runs `function` on `payload` and waits for the result (Pool.apply).
  TaskResult call(std::string_view function, std::string_view payload,
                  const SubmitOptions& options = {});
  // As call(), but gives up waiting after `wait` with WAIT_TIMEOUT (the task
  // itself is not cancelled).
  TaskResult call_for(std::string_view function, std::string_view payload,
                      std::chrono::milliseconds wait,
                      const SubmitOptions& options = {});

  // Submits without waiting (Pool.apply_async): returns at once even when
  // the daemon's queue is full (see ClientOptions::max_unsent_bytes for
  // the one exception). The future becomes ready with the task's result;
  // use wait_for() on it for a timed wait.
  std::future<TaskResult> submit(std::string_view function,
                                 std::string_view payload,
                                 const SubmitOptions& options = {});

  // Submits as above and calls `on_result` (on the reader thread) exactly
  // once. Returns the task's id on this connection, for cancel(); 0 if the
  // task was never sent (on_result has then already been called with the
  // reason: CONNECTION_LOST, PAYLOAD_TOO_LARGE, or QUEUE_FULL when the
  // send budget is full and the policy is to fail).
  uint64_t submit(std::string_view function, std::string_view payload,
                  std::function<void(TaskResult)> on_result,
                  const SubmitOptions& options = {});

  // Cancels the task with `id` (from submit): if still queued it never
  // runs and ends CANCELLED; if running it is asked to stop early (a plugin
  // function sees Context::cancelled()) and its result is whatever it
  // returns, unless `kill_running`, which kills its worker (the daemon
  // replaces it) and ends the task CANCELLED. The task's callback still runs exactly once.
  // A task that already finished is not affected.
  void cancel(uint64_t id, bool kill_running = false);

  // Runs `function` over every input; results in input order (Pool.map).
  // With `chunksize` > 1, each run of `chunksize` inputs is one task (a
  // chunk, as in Pool.map): one worker runs the function on each input in
  // turn and the results come back together. That removes most of the cost
  // per input for small tasks, but a worker dying inside a chunk fails (or,
  // with max_retries, re-runs) every input of it, and options.lock,
  // options.deadline and cancellation apply per chunk (options.timeout
  // still applies to each input). Each input still gets its own
  // TaskResult. A chunk carries at most 60 KiB of inputs: a run of larger
  // ones goes as several chunks, and inputs averaging more than that go as
  // single tasks, as with chunksize 1. At most a window of inputs is in
  // flight at once: as for imap, or up to 256 when the inputs are small
  // (under 1 MiB together), so that small tasks travel in batches.
  std::vector<TaskResult> map(std::string_view function,
                              const std::vector<std::string>& inputs,
                              size_t chunksize = 1,
                              const SubmitOptions& options = {});

  // map() when only the outputs matter: the same tasks, chunks and window,
  // but each input gets a view of its output and a status instead of a
  // TaskResult (no worker pid, timings or attempts). The cheaper choice
  // for many small items (tests/bench: chunksize 1024).
  MapOutputs map_outputs(std::string_view function,
                         const std::vector<std::string>& inputs,
                         size_t chunksize = 1,
                         const SubmitOptions& options = {});

  // Produces the next input, or nullopt at the end. Called on the thread
  // that iterates the stream, only as results are consumed, so the input is
  // never all held in memory.
  using InputSource = std::function<std::optional<std::string>()>;

  // Streaming map (Pool.imap): results in input order, each available as
  // soon as it and those before it are done. At most `window` tasks are in
  // flight at once (0: a default of 4 x chunksize x workers); results held
  // back for ordering count as in flight, so memory stays bounded.
  // Nothing is submitted until the first next(). The vector overloads copy
  // `inputs`, so the stream does not depend on the vector's lifetime.
  // `chunksize` makes chunk tasks as for map().
  ResultStream imap(std::string_view function, InputSource inputs,
                    size_t chunksize = 1, size_t window = 0,
                    const SubmitOptions& options = {});
  ResultStream imap(std::string_view function,
                    const std::vector<std::string>& inputs,
                    size_t chunksize = 1, size_t window = 0,
                    const SubmitOptions& options = {});

  // As imap, but results in completion order (Pool.imap_unordered). Each
  // result is paired with its input's position.
  ResultStream imap_unordered(std::string_view function, InputSource inputs,
                              size_t chunksize = 1, size_t window = 0,
                              const SubmitOptions& options = {});
  ResultStream imap_unordered(std::string_view function,
                              const std::vector<std::string>& inputs,
                              size_t chunksize = 1, size_t window = 0,
                              const SubmitOptions& options = {});

  // Typed forms of the calls above over protobuf messages, defined in
  // <taskpool/typed.hpp> (included below): the request is serialized as the
  // payload and a successful output is parsed as `Response`; one that does
  // not parse ends INVALID_ARGUMENT naming the type.
  //   auto r = client->call<example::ResizeResponse>("resize", request);
  template <typename Response, typename Request>
  TypedResult<Response> call(std::string_view function, const Request& request,
                             const SubmitOptions& options = {});
  template <typename Response, typename Request>
  TypedResult<Response> call_for(std::string_view function,
                                 const Request& request,
                                 std::chrono::milliseconds wait,
                                 const SubmitOptions& options = {});
  template <typename Response, typename Request>
  std::future<TypedResult<Response>> submit(std::string_view function,
                                            const Request& request,
                                            const SubmitOptions& options = {});
  template <typename Response, typename Request>
  uint64_t submit(std::string_view function, const Request& request,
                  std::function<void(TypedResult<Response>)> on_result,
                  const SubmitOptions& options = {});
  template <typename Response, typename Request>
  std::vector<TypedResult<Response>> map(std::string_view function,
                                         const std::vector<Request>& inputs,
                                         size_t chunksize = 1,
                                         const SubmitOptions& options = {});
  // The source form needs both types spelled out:
  // imap<Response, Request>(function, source).
  template <typename Response, typename Request>
  TypedResultStream<Response> imap(std::string_view function,
                                   const std::vector<Request>& inputs,
                                   size_t chunksize = 1, size_t window = 0,
                                   const SubmitOptions& options = {});
  template <typename Response, typename Request>
  TypedResultStream<Response> imap(
      std::string_view function,
      std::function<std::optional<Request>()> inputs, size_t chunksize = 1,
      size_t window = 0, const SubmitOptions& options = {});
  template <typename Response, typename Request>
  TypedResultStream<Response> imap_unordered(
      std::string_view function, const std::vector<Request>& inputs,
      size_t chunksize = 1, size_t window = 0,
      const SubmitOptions& options = {});
  template <typename Response, typename Request>
  TypedResultStream<Response> imap_unordered(
      std::string_view function,
      std::function<std::optional<Request>()> inputs, size_t chunksize = 1,
      size_t window = 0, const SubmitOptions& options = {});

  // Asks the daemon for its workers, queue and counters.
  Result<PoolStatus> status(std::chrono::milliseconds wait = std::chrono::seconds(10));

  // Round trip to the daemon. Ok() when it answered within `wait`.
  Status ping(std::chrono::milliseconds wait = std::chrono::seconds(5));

  // False once the connection has broken; every later call then completes
  // at once with CONNECTION_LOST.
  bool connected() const;

  struct Impl;  // private; public only so ResultStream can share it

 private:
  explicit Client(std::shared_ptr<Impl> impl);
  ResultStream MakeStream(std::string_view function, InputSource inputs,
                          size_t chunksize, size_t window,
                          const SubmitOptions& options, bool ordered);
  std::shared_ptr<Impl> impl_;
};

// A sequence of results from imap / imap_unordered. Move-only. Destroying it
// early stops submitting further inputs (tasks already submitted still run;
// their results are discarded). A stream may outlive its Client: once the
// Client is destroyed (or the connection breaks) every remaining input
// completes at once with CANCELLED or CONNECTION_LOST.
//
// Thread-safety: one thread iterates a stream at a time.
//
//   for (auto stream = client->imap("is_prime", numbers);
//        auto item = stream.next();) {
//     std::cout << item->index << ": " << item->result.output << "\n";
//   }
class ResultStream {
 public:
  struct Item {
    size_t index = 0;  // position of the input
    TaskResult result;
  };

  ResultStream(ResultStream&&) noexcept;
  ResultStream& operator=(ResultStream&&) noexcept;
  ~ResultStream();

  // The next result, or nullopt when every input has its result.
  std::optional<Item> next();

  // As next(), but waits at most `wait` for the next result; returns an
  // Item whose result.code is WAIT_TIMEOUT (index unspecified) when it
  // expires. The stream stays usable after a timeout.
  std::optional<Item> next_for(std::chrono::milliseconds wait);

  struct State;  // private

 private:
  friend class Client;
  explicit ResultStream(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace taskpool

// The typed member templates declared in Client.
#include "taskpool/typed.hpp"
