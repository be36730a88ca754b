// Fetches tasks from the work queue, never more than the node may take.
//
// No hoarding: each fetch asks for at most allowance - in_hand tasks (the
// agent sets the allowance from the supervisor's idle workers; in_hand
// counts messages fetched and not yet taken over by the agent's loop), and
// returns as soon as any is there. A fetch answered too late for libnats
// is taken whatever the allowance (TakeLateDeliveries), and the agent
// hands back what it cannot run. Tasks for a function every node has
// (Q.tasks.any) are long-polled; those of a function only some nodes have
// sit on their own subject and are fetched when a publisher says one is
// there (Q.avail, Hint) or a periodic look at the stream shows some.
//
// Thread-safety: every public method may be called from any thread; the
// fetches run on the fetcher's own thread, as does `sink`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemon/cluster/agent/nats_link.h"

namespace taskpool::cluster {

class TaskFetcher {
 public:
  // Takes fetched messages; the agent decrements in_hand() when it has
  // taken them over.
  using Sink = std::function<void(std::vector<OwnedMessage>)>;
  // A fetch failed in a way that suggests the consumers are gone (the
  // server lost its state): the agent sets them up again.
  using ErrorSink = std::function<void(const Status&)>;

  TaskFetcher(NatsLink& link, std::string tasks_stream, std::string function_filter, Sink sink,
              ErrorSink on_error);
  ~TaskFetcher();

  // Replaces the consumers: `any` and one per function token this node has.
  void Install(std::unique_ptr<PullConsumer> any,
               std::map<std::string, std::unique_ptr<PullConsumer>> by_subject);
  // Drops them (no fetching until the next Install).
  void Uninstall();

  void SetAllowance(int allowance);
  std::atomic<int>& in_hand() { return in_hand_; }
  // A task was published on `subject` (a function's subject).
  void Hint(const std::string& subject);

 private:
  void Run();
  // How many tasks to ask for now (0: none).
  int Wanted() const;
  void FetchFunctionSubjects(std::unique_lock<std::mutex>& lock);
  void FetchFrom(PullConsumer& consumer, int64_t wait_ms, std::unique_lock<std::mutex>& lock);
  // Runs `fetch` unlocked and passes what it gets to the sink.
  void Deliver(const std::function<Result<std::vector<OwnedMessage>>()>& fetch,
               std::unique_lock<std::mutex>& lock);
  void TakeLateDeliveries(std::unique_lock<std::mutex>& lock);

  NatsLink& link_;
  const std::string tasks_stream_;
  const std::string function_filter_;
  Sink sink_;
  ErrorSink on_error_;
  std::atomic<int> allowance_{0};
  std::atomic<int> in_hand_{0};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool exit_ = false;
  bool installed_ = false;
  // Installs wait while a fetch uses the consumers.
  bool fetching_ = false;
  // Installs waiting: the loop lets them in before its next fetch.
  int installs_waiting_ = 0;
  std::condition_variable idle_;
  std::unique_ptr<PullConsumer> any_;
  std::map<std::string, std::unique_ptr<PullConsumer>> by_subject_;
  std::set<std::string> hinted_;
  std::chrono::steady_clock::time_point next_scan_;
  std::thread thread_;
};

}  // namespace taskpool::cluster
