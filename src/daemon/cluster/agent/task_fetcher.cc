#include "daemon/cluster/agent/task_fetcher.h"

namespace taskpool::cluster {

namespace {

// Q.tasks.any is long-polled this long at a time, so hints for a
// function's subject wait at most this long.
constexpr int64_t kLongPollMs = 200;
// A function's subject, known or hinted to hold tasks: they are there at
// once or went to another node (nats-server waits the whole expiry for an
// empty no_wait fetch, so keep it short; libnats needs at least 20 ms to
// let the server expire the request before the client does).
constexpr int64_t kShortPollMs = 25;
// How often the stream is asked which function subjects hold tasks (for
// redeliveries and missed hints).
constexpr std::chrono::seconds kScanInterval{1};

}  // namespace

TaskFetcher::TaskFetcher(NatsLink& link, std::string tasks_stream, std::string function_filter,
                         Sink sink, ErrorSink on_error)
    : link_(link),
      tasks_stream_(std::move(tasks_stream)),
      function_filter_(std::move(function_filter)),
      sink_(std::move(sink)),
      on_error_(std::move(on_error)),
      thread_([this] { Run(); }) {}

TaskFetcher::~TaskFetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exit_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TaskFetcher::Install(std::unique_ptr<PullConsumer> any,
                          std::map<std::string, std::unique_ptr<PullConsumer>> by_subject) {
  std::unique_lock<std::mutex> lock(mutex_);
  ++installs_waiting_;
  idle_.wait(lock, [this] { return !fetching_; });
  --installs_waiting_;
  any_ = std::move(any);
  by_subject_ = std::move(by_subject);
  installed_ = true;
  next_scan_ = std::chrono::steady_clock::now();
  lock.unlock();
  wake_.notify_all();
}

void TaskFetcher::Uninstall() {
  std::unique_lock<std::mutex> lock(mutex_);
  ++installs_waiting_;
  idle_.wait(lock, [this] { return !fetching_; });
  --installs_waiting_;
  installed_ = false;
  any_.reset();
  by_subject_.clear();
}

void TaskFetcher::SetAllowance(int allowance) {
  allowance_.store(allowance);
  wake_.notify_all();
}

void TaskFetcher::Hint(const std::string& subject) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hinted_.insert(subject);
  }
  wake_.notify_all();
}

int TaskFetcher::Wanted() const { return allowance_.load() - in_hand_.load(); }

void TaskFetcher::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!exit_) {
    const auto may_fetch = [this] { return installed_ && installs_waiting_ == 0 && Wanted() > 0; };
    wake_.wait_for(lock, kFetchErrorPause, [&] { return exit_ || may_fetch(); });
    if (exit_) break;
    if (!may_fetch()) {
      if (installed_ && installs_waiting_ == 0) TakeLateDeliveries(lock);
      continue;
    }
    fetching_ = true;
    if (!by_subject_.empty() &&
        (!hinted_.empty() || std::chrono::steady_clock::now() >= next_scan_)) {
      FetchFunctionSubjects(lock);
    }
    if (!exit_ && Wanted() > 0 && any_ != nullptr) FetchFrom(*any_, kLongPollMs, lock);
    fetching_ = false;
    idle_.notify_all();
  }
}

void TaskFetcher::FetchFunctionSubjects(std::unique_lock<std::mutex>& lock) {
  std::set<std::string> subjects = std::move(hinted_);
  hinted_.clear();
  if (std::chrono::steady_clock::now() >= next_scan_) {
    next_scan_ = std::chrono::steady_clock::now() + kScanInterval;
    lock.unlock();
    Result<std::vector<std::string>> holding =
        link_.SubjectsWithMessages(tasks_stream_, function_filter_);
    lock.lock();
    if (holding.ok()) subjects.insert(holding->begin(), holding->end());
  }
  for (const std::string& subject : subjects) {
    auto consumer = by_subject_.find(subject);
    if (consumer == by_subject_.end() || Wanted() <= 0 || exit_) continue;
    FetchFrom(*consumer->second, kShortPollMs, lock);
  }
}

void TaskFetcher::TakeLateDeliveries(std::unique_lock<std::mutex>& lock) {
  // Under load an answer to a fetch can arrive after libnats stopped
  // waiting for it: delivered, unacked, seen by no one. The next fetch
  // from that consumer would take it, but with no worker free there is
  // none, and after the ack wait it would be redelivered as if a node had
  // died holding it (lost, without retries). So it is taken now, and the
  // agent hands back what it cannot run.
  fetching_ = true;
  const auto take = [&](PullConsumer& consumer) {
    if (const int late = consumer.Late(); late > 0 && !exit_) {
      Deliver([&] { return consumer.TakeLate(late); }, lock);
    }
  };
  if (any_ != nullptr) take(*any_);
  for (auto& [subject, consumer] : by_subject_) take(*consumer);
  fetching_ = false;
  idle_.notify_all();
}

void TaskFetcher::FetchFrom(PullConsumer& consumer, int64_t wait_ms,
                            std::unique_lock<std::mutex>& lock) {
  const int batch = Wanted();
  if (batch > 0) Deliver([&] { return consumer.Fetch(batch, wait_ms); }, lock);
}

void TaskFetcher::Deliver(const std::function<Result<std::vector<OwnedMessage>>()>& fetch,
                          std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  Result<std::vector<OwnedMessage>> fetched = fetch();
  if (!fetched.ok()) {
    on_error_(fetched.status());
    lock.lock();
    wake_.wait_for(lock, kFetchErrorPause, [this] { return exit_; });
    return;
  }
  if (!fetched->empty()) {
    in_hand_ += static_cast<int>(fetched->size());
    sink_(std::move(fetched.value()));
  }
  lock.lock();
}

}  // namespace taskpool::cluster
