// One thread that runs blocking jobs (JetStream publishes waiting for their
// acknowledgement, stream and consumer set-up) one after another, in the
// order given, so the agent's event loop never waits on NATS.
//
// Thread-safety: Post and Stop may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace taskpool::cluster {

class BlockingWorker {
 public:
  BlockingWorker();
  // Stops after the job under way; jobs not started are dropped.
  ~BlockingWorker();

  void Post(std::function<void()> job);
  // Jobs posted and not yet finished.
  size_t pending() const;
  // Asks jobs that loop (retries) to give up; see stopping().
  void RequestStop();
  bool stopping() const;

 private:
  void Run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stop_ = false;
  bool exit_ = false;
  std::thread thread_;
};

}  // namespace taskpool::cluster
