// Fetches the results of this node's remote tasks (Q.results.<node>) as
// they come, on a thread of its own; `sink` runs there.
//
// Thread-safety: Install may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/cluster/agent/nats_link.h"

namespace taskpool::cluster {

class ResultFetcher {
 public:
  using Sink = std::function<void(std::vector<OwnedMessage>)>;
  using ErrorSink = std::function<void(const Status&)>;

  ResultFetcher(Sink sink, ErrorSink on_error);
  ~ResultFetcher();

  // Replaces the consumer (null: stop fetching).
  void Install(std::unique_ptr<PullConsumer> consumer);

 private:
  void Run();

  Sink sink_;
  ErrorSink on_error_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool exit_ = false;
  bool fetching_ = false;
  // Installs waiting: the loop lets them in before its next fetch.
  int installs_waiting_ = 0;
  std::unique_ptr<PullConsumer> consumer_;
  std::thread thread_;
};

}  // namespace taskpool::cluster
