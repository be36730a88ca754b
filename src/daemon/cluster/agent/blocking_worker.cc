#include "daemon/cluster/agent/blocking_worker.h"

namespace taskpool::cluster {

BlockingWorker::BlockingWorker() : thread_([this] { Run(); }) {}

BlockingWorker::~BlockingWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    exit_ = true;
    jobs_.clear();
  }
  wake_.notify_all();
  thread_.join();
}

void BlockingWorker::Post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

size_t BlockingWorker::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return jobs_.size() + running_;
}

void BlockingWorker::RequestStop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stop_ = true;
}

bool BlockingWorker::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

void BlockingWorker::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return exit_ || !jobs_.empty(); });
    if (exit_) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    lock.lock();
    --running_;
  }
}

}  // namespace taskpool::cluster
