#include "daemon/cluster/agent/result_fetcher.h"

namespace taskpool::cluster {

namespace {
constexpr int kBatch = 256;
constexpr int64_t kPollMs = 500;
}  // namespace

ResultFetcher::ResultFetcher(Sink sink, ErrorSink on_error)
    : sink_(std::move(sink)), on_error_(std::move(on_error)), thread_([this] { Run(); }) {}

ResultFetcher::~ResultFetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exit_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ResultFetcher::Install(std::unique_ptr<PullConsumer> consumer) {
  std::unique_lock<std::mutex> lock(mutex_);
  ++installs_waiting_;
  idle_.wait(lock, [this] { return !fetching_; });
  --installs_waiting_;
  consumer_ = std::move(consumer);
  lock.unlock();
  wake_.notify_all();
}

void ResultFetcher::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!exit_) {
    wake_.wait(lock, [this] {
      return exit_ || (consumer_ != nullptr && installs_waiting_ == 0);
    });
    if (exit_) break;
    fetching_ = true;
    PullConsumer& consumer = *consumer_;
    lock.unlock();
    Result<std::vector<OwnedMessage>> fetched = consumer.Fetch(kBatch, kPollMs);
    if (!fetched.ok()) {
      on_error_(fetched.status());
    } else if (!fetched->empty()) {
      sink_(std::move(fetched.value()));
    }
    lock.lock();
    fetching_ = false;
    idle_.notify_all();
    if (!fetched.ok()) wake_.wait_for(lock, kFetchErrorPause, [this] { return exit_; });
  }
}

}  // namespace taskpool::cluster
