// The C++ side of tests/bench/run: one workload per invocation against a
// running taskpoold (socket= or $TASKPOOL_SOCKET), one JSON line per result.
//
//   taskpool_bench latency    size=1 count=2000
//   taskpool_bench map        items=20000 chunksize=64 size=1
//   taskpool_bench concurrent clients=16 count=200
//   taskpool_bench primes     file=numbers.txt mode=serial|threads|taskpool threads=2 chunksize=1
//   taskpool_bench fill       count=10000      (holds tasks queued until stdin closes)
//   taskpool_bench startup    daemon=PATH workers=2
//
// Everything goes through the public client library, exactly as a user's
// program would; only `primes mode=serial|threads` runs in-process, as the
// reference for what the CPU can do.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/tasks/builtins.h"
#include "taskpool/client.hpp"
#include "tests/bench/stats.h"

extern char** environ;

namespace taskpool::bench {
namespace {

std::unique_ptr<Client> ConnectOrDie(const Args& args) {
  ClientOptions options;
  options.socket_path = args.Get("socket", "");
  options.client_name = "taskpool_bench";
  auto client = Client::Connect(options);
  if (!client.ok()) {
    std::cerr << "taskpool_bench: " << client.status().ToString() << '\n';
    std::exit(1);
  }
  return std::move(*client);
}

void CheckOk(const Status& status) {
  if (status.ok()) return;
  std::cerr << "taskpool_bench: task failed: " << status.ToString() << '\n';
  std::exit(1);
}

void CheckOk(const TaskResult& result) { CheckOk(result.status()); }

// Context switches of every thread of this process so far.
double ContextSwitches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_nvcsw + usage.ru_nivcsw);
}

// One echo at a time, each waited for before the next is sent. Also counts
// this process's context switches per call (the driver counts the
// daemon's around the whole run, so it also reports `calls`).
int Latency(const Args& args) {
  auto client = ConnectOrDie(args);
  const std::string payload(static_cast<size_t>(args.GetInt("size", 1)), 'x');
  const int count = static_cast<int>(args.GetInt("count", 2000));
  const int warmup = count / 10 + 1;
  std::vector<double> latencies_us;
  double switches_before = 0;
  for (int i = 0; i < warmup + count; ++i) {
    if (i == warmup) switches_before = ContextSwitches();
    const int64_t start = NowNanos();
    const TaskResult result = client->call("echo", payload);
    CheckOk(result);
    if (i >= warmup) latencies_us.push_back((NowNanos() - start) / 1e3);
  }
  JsonLine("latency")
      .Add("size", static_cast<double>(payload.size()))
      .Add("calls", static_cast<double>(warmup + count))
      .Add("client_switches_per_call", (ContextSwitches() - switches_before) / count)
      .AddPercentiles(latencies_us)
      .Print();
  return 0;
}

// map(echo, items) with the given chunksize; items of `size` bytes.
// api=outputs: through map_outputs instead (views, not TaskResults).
int Map(const Args& args) {
  auto client = ConnectOrDie(args);
  const size_t items = static_cast<size_t>(args.GetInt("items", 20000));
  const size_t size = static_cast<size_t>(args.GetInt("size", 1));
  const size_t chunksize = static_cast<size_t>(args.GetInt("chunksize", 1));
  const bool outputs_only = args.Get("api", "map") == "outputs";
  const std::vector<std::string> inputs(items, std::string(size, 'x'));
  const int64_t start = NowNanos();
  double seconds = 0;
  if (outputs_only) {
    const MapOutputs outputs = client->map_outputs("echo", inputs, chunksize);
    seconds = (NowNanos() - start) / 1e9;
    for (size_t i = 0; i < outputs.size(); ++i) CheckOk(outputs.status(i));
  } else {
    const std::vector<TaskResult> results = client->map("echo", inputs, chunksize);
    seconds = (NowNanos() - start) / 1e9;
    for (const TaskResult& result : results) CheckOk(result);
  }
  JsonLine("map")
      .Add("items", static_cast<double>(items))
      .Add("size", static_cast<double>(size))
      .Add("chunksize", static_cast<double>(chunksize))
      .Add("seconds", seconds)
      .Add("items_per_s", items / seconds)
      .Add("mib_per_s", items * size / seconds / (1 << 20))
      .Print();
  return 0;
}

// `clients` connections, each on its own thread doing 1 B echo calls one at
// a time; the latency distribution over all of them.
int Concurrent(const Args& args) {
  const int clients = static_cast<int>(args.GetInt("clients", 4));
  const int count = static_cast<int>(args.GetInt("count", 200));
  std::vector<std::vector<double>> per_client(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&args, count, &samples = per_client[c]] {
      auto client = ConnectOrDie(args);
      for (int i = 0; i < count + count / 10 + 1; ++i) {
        const int64_t start = NowNanos();
        CheckOk(client->call("echo", "x"));
        if (i > count / 10) samples.push_back((NowNanos() - start) / 1e3);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<double> all;
  for (const auto& samples : per_client) {
    all.insert(all.end(), samples.begin(), samples.end());
  }
  JsonLine("concurrent")
      .Add("clients", static_cast<double>(clients))
      .AddPercentiles(all)
      .Print();
  return 0;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// is_prime over the numbers in `file`: in this process serially, on
// `threads` threads (each taking the next number, like chunksize 1), or
// through taskpoold with map(`chunksize`).
int Primes(const Args& args) {
  const std::vector<std::string> numbers = ReadLines(args.Get("file", ""));
  const std::string mode = args.Get("mode", "serial");
  const int threads = static_cast<int>(args.GetInt("threads", 1));
  std::vector<uint64_t> values;
  for (const std::string& text : numbers) {
    values.push_back(*daemon::builtins::ParseDecimalU64(text));
  }
  std::unique_ptr<Client> client;
  if (mode == "taskpool") client = ConnectOrDie(args);

  size_t primes = 0;
  const int64_t start = NowNanos();
  if (mode == "serial") {
    for (uint64_t n : values) primes += daemon::builtins::IsPrime(n);
  } else if (mode == "threads") {
    std::atomic<size_t> next{0};
    std::atomic<size_t> found{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (size_t i; (i = next.fetch_add(1)) < values.size();) {
          found += daemon::builtins::IsPrime(values[i]);
        }
      });
    }
    for (std::thread& thread : pool) thread.join();
    primes = found;
  } else {
    const auto chunksize = static_cast<size_t>(args.GetInt("chunksize", 1));
    for (const TaskResult& result : client->map("is_prime", numbers, chunksize)) {
      CheckOk(result);
      primes += result.output == "true";
    }
  }
  const double seconds = (NowNanos() - start) / 1e9;
  JsonLine("primes")
      .Add("mode", mode)
      .Add("threads", mode == "taskpool"
                          ? static_cast<double>(client->server_info().workers)
                          : static_cast<double>(threads))
      .Add("numbers", static_cast<double>(values.size()))
      .Add("primes", static_cast<double>(primes))
      .Add("seconds", seconds)
      .Print();
  return 0;
}

// Occupies every worker with a long sleep, queues `count` echo tasks behind
// them, waits until the daemon reports them queued, prints, and holds them
// until stdin reaches end-of-file (the driver reads the daemon's RSS
// meanwhile). Exits without waiting for results.
int Fill(const Args& args) {
  auto client = ConnectOrDie(args);
  const int count = static_cast<int>(args.GetInt("count", 10000));
  for (uint32_t w = 0; w < client->server_info().workers; ++w) {
    client->submit("sleep", "600000", [](TaskResult) {});
  }
  for (int i = 0; i < count; ++i) client->submit("echo", "x", [](TaskResult) {});
  uint32_t depth = 0;
  for (int attempt = 0; attempt < 6000 && depth < uint32_t(count); ++attempt) {
    auto status = client->status();
    if (status.ok()) depth = status->queue_depth;
    if (depth < uint32_t(count)) usleep(10'000);
  }
  JsonLine("fill").Add("queued", static_cast<double>(depth)).Print();
  char ignored[256];
  while (read(STDIN_FILENO, ignored, sizeof ignored) > 0) {
  }
  std::_Exit(0);
}

// Time from spawning taskpoold to the first task result, the analogue of
// Pool(N) creation to the first apply_async().get().
int Startup(const Args& args) {
  char directory[] = "/tmp/taskpool-bench-XXXXXX";
  if (mkdtemp(directory) == nullptr) return 1;
  const std::string socket = std::string(directory) + "/tp.sock";
  const std::string workers = args.Get("workers", "2");
  std::vector<std::string> argv_strings = {
      args.Get("daemon", "taskpoold"), "--socket", socket, "--workers",
      workers, "--log-level", "warning"};
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const int64_t start = NowNanos();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    std::perror("posix_spawn taskpoold");
    return 1;
  }
  ClientOptions options;
  options.socket_path = socket;
  std::unique_ptr<Client> client;
  // Poll for the socket: the daemon gives no other readiness signal here.
  while (NowNanos() - start < 10'000'000'000) {
    auto connected = Client::Connect(options);
    if (connected.ok()) {
      client = std::move(*connected);
      break;
    }
    usleep(200);
  }
  if (client == nullptr) {
    std::cerr << "taskpool_bench: taskpoold did not come up\n";
    kill(pid, SIGKILL);
    return 1;
  }
  CheckOk(client->call("echo", "x"));
  const double milliseconds = (NowNanos() - start) / 1e6;
  client.reset();
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  rmdir(directory);
  JsonLine("startup").Add("first_result_ms", milliseconds).Print();
  return 0;
}

}  // namespace
}  // namespace taskpool::bench

int main(int argc, char** argv) {
  using namespace taskpool::bench;
  if (argc < 2) {
    std::cerr << "usage: taskpool_bench WORKLOAD [key=value...]\n";
    return 2;
  }
  const std::string workload = argv[1];
  const Args args(argc, argv, 2);
  if (workload == "latency") return Latency(args);
  if (workload == "map") return Map(args);
  if (workload == "concurrent") return Concurrent(args);
  if (workload == "primes") return Primes(args);
  if (workload == "fill") return Fill(args);
  if (workload == "startup") return Startup(args);
  std::cerr << "taskpool_bench: unknown workload " << workload << '\n';
  return 2;
}
