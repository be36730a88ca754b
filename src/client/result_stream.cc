// imap / imap_unordered: a window of chunks in flight, refilled from the
// input source only as results are taken, so neither the inputs nor the
// results are ever all in memory.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <optional>
#include <span>
#include <mutex>

#include "client/client_impl.h"
#include "base/clock.h"
#include "client/wire_convert.h"
#include "taskpool/client.hpp"

namespace taskpool {

namespace {

// Where the reader thread leaves results for the iterating thread. Shared,
// because tasks still in flight when a stream is dropped complete into it.
class Inbox {
 public:
  explicit Inbox(bool ordered) : ordered_(ordered) {}

  // The results of inputs [first, first + results.size()).
  void Deliver(size_t first, std::vector<TaskResult> results) {
    {
      std::lock_guard lock(mutex_);
      if (ordered_) {
        // Results arrive within the window after the next one to take.
        const size_t offset = first - base_index_;
        if (offset + results.size() > by_offset_.size()) {
          by_offset_.resize(offset + results.size());
        }
        for (size_t i = 0; i < results.size(); ++i) {
          by_offset_[offset + i] = std::move(results[i]);
        }
      } else {
        for (size_t i = 0; i < results.size(); ++i) {
          arrived_.push_back({first + i, std::move(results[i])});
        }
      }
    }
    ready_.notify_all();
  }

  // Waits until the next item is there (the next input's when ordered, any
  // when not), then moves it and every other item ready to be taken in
  // order into `out`. False when `deadline` passes first.
  bool TakeReady(std::optional<base::SteadyTime> deadline,
                 std::deque<ResultStream::Item>& out) {
    std::unique_lock lock(mutex_);
    auto has_next = [&] {
      return ordered_ ? !by_offset_.empty() && by_offset_.front().has_value()
                      : !arrived_.empty();
    };
    if (!deadline) {
      ready_.wait(lock, has_next);
    } else if (!ready_.wait_until(lock, *deadline, has_next)) {
      return false;
    }
    if (!ordered_) {
      std::move(arrived_.begin(), arrived_.end(), std::back_inserter(out));
      arrived_.clear();
      return true;
    }
    while (!by_offset_.empty() && by_offset_.front().has_value()) {
      out.push_back({base_index_++, std::move(*by_offset_.front())});
      by_offset_.pop_front();
    }
    return true;
  }

 private:
  const bool ordered_;
  std::mutex mutex_;
  std::condition_variable ready_;
  // Ordered: results waiting for their turn, by index - base_index_ (the
  // index taken next); empty where a result has not arrived yet.
  std::deque<std::optional<TaskResult>> by_offset_;
  size_t base_index_ = 0;
  std::deque<ResultStream::Item> arrived_;  // unordered: completion order
};

}  // namespace

struct ResultStream::State {
  std::shared_ptr<Client::Impl> impl;
  std::string function;
  Client::InputSource inputs;
  size_t chunksize = 1;
  size_t window = 1;
  SubmitOptions options;
  bool ordered = true;
  std::shared_ptr<Inbox> inbox;

  size_t next_input = 0;   // index the next pulled input gets
  size_t next_output = 0;  // ordered: the index to yield next
  size_t outstanding = 0;  // submitted, not yet yielded
  // Results taken from the inbox in one go, yielded one by one.
  std::deque<Item> taken;
  bool inputs_done = false;

  // Submits chunks while the window has room for one. With nothing
  // outstanding one chunk always goes, so a window below the chunk size
  // still makes progress. It waits until a quarter of the window (or a
  // chunk, if more) is free, and sends what it pulled together: one result
  // taken would otherwise send one task, a frame and a write per result,
  // and at chunksize 1 that cost the CLI's map half the library's rate.
  void Refill() {
    const size_t step = std::max(chunksize, window / 4);
    if (inputs_done || (outstanding != 0 && outstanding + step > window)) return;
    std::vector<std::string> pulled;
    while (!inputs_done && (outstanding + pulled.size() == 0 ||
                            outstanding + pulled.size() + chunksize <= window)) {
      const size_t before = pulled.size();
      while (pulled.size() - before < chunksize) {
        std::optional<std::string> input = inputs();
        if (!input) {
          inputs_done = true;
          break;
        }
        pulled.push_back(std::move(*input));
      }
    }
    if (!pulled.empty()) Submit(pulled);
  }

  // Chunks of `pulled` as chunk tasks; at chunksize 1, single tasks batched
  // in as few frames as the connection allows.
  void Submit(const std::vector<std::string>& pulled) {
    const std::vector<std::string_view> payloads(pulled.begin(), pulled.end());
    const size_t first = next_input;
    next_input += pulled.size();
    outstanding += pulled.size();
    if (chunksize == 1) {
      impl->connection.Submit(function, payloads, options,
                              [inbox = inbox, first](size_t position, TaskResult result) {
                                std::vector<TaskResult> one;
                                one.push_back(std::move(result));
                                inbox->Deliver(first + position, std::move(one));
                              });
      return;
    }
    for (size_t begin = 0; begin < payloads.size(); begin += chunksize) {
      const size_t count = std::min(chunksize, payloads.size() - begin);
      impl->connection.SubmitChunk(
          function, std::span<const std::string_view>(payloads).subspan(begin, count), options,
          [inbox = inbox, at = first + begin](size_t position, client::ChunkResults results) {
            inbox->Deliver(at + position, std::move(results).Split());
          });
    }
  }

  std::optional<Item> Next(
      std::optional<base::SteadyTime> deadline) {
    Refill();
    if (outstanding == 0) return std::nullopt;  // Refill drained the input
    if (taken.empty() && !inbox->TakeReady(deadline, taken)) {
      return Item{next_output,
                  client::FailedResult(ErrorCode::kWaitTimeout,
                               "no result within the wait; the stream "
                               "remains usable")};
    }
    Item item = std::move(taken.front());
    taken.pop_front();
    --outstanding;
    if (ordered) ++next_output;
    return item;
  }
};

ResultStream::ResultStream(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
ResultStream::ResultStream(ResultStream&&) noexcept = default;
ResultStream& ResultStream::operator=(ResultStream&&) noexcept = default;
ResultStream::~ResultStream() = default;

std::optional<ResultStream::Item> ResultStream::next() {
  if (state_ == nullptr) return std::nullopt;  // moved from
  return state_->Next(std::nullopt);
}

std::optional<ResultStream::Item> ResultStream::next_for(
    std::chrono::milliseconds wait) {
  if (state_ == nullptr) return std::nullopt;
  return state_->Next(base::SteadyClock::now() + wait);
}

size_t DefaultWindow(const ServerInfo& server, size_t chunksize) {
  return 4 * chunksize * std::max<uint32_t>(server.workers, 1);
}

size_t MapWindowSize(const ServerInfo& server, size_t chunksize, size_t average_input_bytes) {
  const size_t small =
      std::min(kSmallInputWindow, kSmallWindowBytes / std::max<size_t>(average_input_bytes, 1));
  return std::max(DefaultWindow(server, chunksize), small);
}

size_t AverageInputBytes(const std::vector<std::string>& inputs) {
  const size_t sampled = std::min<size_t>(inputs.size(), 1024);
  if (sampled == 0) return 1;
  size_t total_bytes = 0;
  for (size_t i = 0; i < sampled; ++i) total_bytes += inputs[i].size();
  return std::max<size_t>(total_bytes / sampled, 1);
}

Client::InputSource VectorSource(const std::vector<std::string>& inputs,
                                 std::shared_ptr<const void> owner) {
  return [&inputs, owner = std::move(owner),
          next = size_t{0}]() mutable -> std::optional<std::string> {
    if (next == inputs.size()) return std::nullopt;
    return inputs[next++];
  };
}

namespace {

// The vector overloads copy the inputs: the stream may outlive the caller's
// vector (a temporary, say), and a dangling reference would be far worse
// than one copy of inputs the caller already holds.
Client::InputSource FromVector(const std::vector<std::string>& inputs) {
  auto copy = std::make_shared<const std::vector<std::string>>(inputs);
  return VectorSource(*copy, copy);
}

}  // namespace

ResultStream Client::imap(std::string_view function, InputSource inputs,
                          size_t chunksize, size_t window,
                          const SubmitOptions& options) {
  return MakeStream(function, std::move(inputs), chunksize, window, options,
                    /*ordered=*/true);
}

ResultStream Client::imap(std::string_view function,
                          const std::vector<std::string>& inputs,
                          size_t chunksize, size_t window,
                          const SubmitOptions& options) {
  return imap(function, FromVector(inputs), chunksize, window, options);
}

ResultStream Client::imap_unordered(std::string_view function,
                                    InputSource inputs, size_t chunksize,
                                    size_t window,
                                    const SubmitOptions& options) {
  return MakeStream(function, std::move(inputs), chunksize, window, options,
                    /*ordered=*/false);
}

ResultStream Client::imap_unordered(std::string_view function,
                                    const std::vector<std::string>& inputs,
                                    size_t chunksize, size_t window,
                                    const SubmitOptions& options) {
  return imap_unordered(function, FromVector(inputs), chunksize, window,
                        options);
}

ResultStream Client::MakeStream(std::string_view function, InputSource inputs,
                                size_t chunksize, size_t window,
                                const SubmitOptions& options, bool ordered) {
  auto state = std::make_unique<ResultStream::State>();
  state->impl = impl_;
  state->function = std::string(function);
  state->inputs = std::move(inputs);
  state->chunksize = std::max<size_t>(chunksize, 1);
  state->window = window != 0 ? window : DefaultWindow(impl_->server_info, state->chunksize);
  state->options = options;
  state->ordered = ordered;
  state->inbox = std::make_shared<Inbox>(ordered);
  return ResultStream(std::move(state));
}

}  // namespace taskpool
