// Chaos and floods: workers SIGKILLed at random while work flows, and a
// million submissions into a small queue. Every task must get exactly one
// terminal result, nobody may hang, and the daemon's memory must stay flat.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"

namespace taskpool::testing {
namespace {

CommandResult RunFloodClient(const std::string& socket, size_t count, int retries,
                             size_t chunksize = 1) {
  return RunCommand({FLOOD_CLIENT_PATH, socket, std::to_string(count), std::to_string(retries),
                     std::to_string(chunksize)});
}

uint64_t TasksFinished(Client& client) {
  auto status = client.status();
  return status.ok() ? status->tasks_succeeded + status->tasks_failed + status->tasks_cancelled : 0;
}

// The sanitizer's quarantine would hold freed memory and hide whether the
// daemon's own memory stays flat.
class SmallQuarantine {
 public:
  SmallQuarantine() { setenv("ASAN_OPTIONS", "quarantine_size_mb=1:detect_leaks=1", 1); }
  ~SmallQuarantine() { unsetenv("ASAN_OPTIONS"); }
};

// `clients` flood clients send `tasks_per_client` echo tasks each (in
// chunks of `chunksize`) while a worker is SIGKILLed every 20 ms.
void RunChaos(size_t clients_count, size_t tasks_per_client, size_t chunksize) {
  SmallQuarantine quarantine;
  DaemonProcess daemon(2);
  ClientOptions options;
  options.socket_path = daemon.socket_path();
  auto monitor = Client::Connect(options);
  ASSERT_TRUE(monitor.ok());

  std::atomic<bool> clients_done{false};
  std::atomic<int> kills{0};
  std::thread killer([&] {
    std::mt19937 random(12345);
    while (!clients_done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::vector<pid_t> workers = ChildrenOf(daemon.pid());
      if (workers.empty()) continue;
      if (kill(workers[random() % workers.size()], SIGKILL) == 0) ++kills;
    }
  });

  // Each client runs rounds of `tasks_per_client` tasks until the killer
  // has struck often enough: on a fast machine one round can end before
  // the first kills, so the chaos is driven by the kill count, not by how
  // much work fits between two kills. The time bound only keeps a broken
  // killer from looping forever; it is far above what ten kills take.
  constexpr int kWantedKills = 20;
  const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  auto chaos_wanted = [&] {
    return kills.load() < kWantedKills && std::chrono::steady_clock::now() < give_up_at;
  };
  std::vector<std::vector<CommandResult>> outcomes(clients_count);
  std::vector<std::thread> clients;
  for (size_t c = 0; c < outcomes.size(); ++c) {
    clients.emplace_back([&, c] {
      do {
        outcomes[c].push_back(
            RunFloodClient(daemon.socket_path(), tasks_per_client, /*retries=*/2, chunksize));
      } while (chaos_wanted());
    });
  }
  long rss_after_5000 = -1;
  while (TasksFinished(**monitor) < 5000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  rss_after_5000 = ResidentKib(daemon.pid());
  for (auto& client : clients) client.join();
  clients_done = true;
  killer.join();

  for (const std::vector<CommandResult>& rounds : outcomes) {
    for (const CommandResult& outcome : rounds) {
      EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
      EXPECT_NE(outcome.out.find("duplicates=0 missing=0"), std::string::npos) << outcome.out;
    }
  }
  EXPECT_GE(kills.load(), kWantedKills) << "the chaos did not happen within the time bound";

  // Every slot is served again once the respawn backoff (if any) passes.
  bool all_alive = false;
  for (int attempt = 0; attempt < 400 && !all_alive; ++attempt) {
    auto status = (*monitor)->status();
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    all_alive = status->workers.size() == 2;
    for (const auto& worker : status->workers) {
      all_alive &= worker.state != WorkerState::kDead && ProcessIsAlive(worker.pid);
    }
    if (!all_alive) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(all_alive) << daemon.log();
  const long rss_at_end = ResidentKib(daemon.pid());
  EXPECT_LE(rss_at_end, rss_after_5000 + rss_after_5000 / 10)
      << "daemon RSS grew from " << rss_after_5000 << " KiB to " << rss_at_end << " KiB";
}

TEST(Chaos, RandomWorkerKillsEveryTwentyMsLoseNothing) {
  RunChaos(4, 12'500, 1);  // 50,000 tasks
}

// A kill inside a chunk loses a whole chunk's results at once: each of its
// items must still get exactly one (retried, or WORKER_DIED).
TEST(Chaos, RandomWorkerKillsWhileChunksFlowLoseNothing) {
  RunChaos(2, 200'000, 16);
}

TEST(Flood, MillionSubmissionsIntoASmallQueueKeepMemoryBounded) {
  SmallQuarantine quarantine;
  DaemonProcess daemon(2, {"--queue-capacity", "1000"});
  CommandResult flood = RunFloodClient(daemon.socket_path(), 1'000'000, 0);
  EXPECT_EQ(flood.exit_code, 0) << flood.out << flood.err;
  EXPECT_NE(flood.out.find("ok=1000000 "), std::string::npos) << flood.out;
  const long peak_kib = ResidentKib(daemon.pid(), /*peak=*/true);
  EXPECT_LT(peak_kib, 200 * 1024) << "daemon peak RSS " << peak_kib << " KiB";
}

}  // namespace
}  // namespace taskpool::testing
