#include "cli/map_run.h"

#include <algorithm>
#include <csignal>

#include "base/clock.h"
#include "cli/cli_options.h"
#include "cli/session.h"

namespace taskpool::cli {

namespace {

// Set by SIGINT (Ctrl-C): stop, leaving the daemon to cancel what is left.
volatile std::sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

// How often a wait for results looks at g_interrupted and redraws the
// progress line.
constexpr std::chrono::milliseconds kPollInterval{50};

class MapRun {
 public:
  MapRun(ResultStream& stream, InputsInFlight& inputs, const ItemHandler& show,
         OutputStreams& streams, ProgressMeter* progress, JobLog* job_log,
         const MapRunSettings& settings)
      : stream_(stream),
        inputs_(inputs),
        show_(show),
        streams_(streams),
        progress_(progress),
        job_log_(job_log),
        settings_(settings) {}

  int Run() {
    // Ctrl-C: closing the connection makes the daemon cancel every task of
    // ours that is still queued or running.
    std::signal(SIGINT, OnInterrupt);
    if (progress_ != nullptr) {
      streams_.OnTerminalWrite([this] { progress_->Clear(); });
      progress_->Update(Counts());
    }
    const int code = Loop();
    streams_.Flush();
    if (progress_ != nullptr) {
      progress_->Finish(Counts());
      streams_.OnTerminalWrite({});
    }
    return code;
  }

 private:
  enum class Verdict { kGoOn, kStop };

  int Loop() {
    while (std::optional<ResultStream::Item> item = NextWaitingQuietly()) {
      if (ExitCodeFor(item->result.code) == kExitUnreachable) {
        // Every later input would fail the same way; say it once.
        ShowReady(/*all=*/false);
        streams_.Err("taskpool: " + item->result.error + "\n");
        return kExitUnreachable;
      }
      const bool failed = settings_.failed && settings_.failed(item->result);
      arrived_failed_ += failed ? 1 : 0;
      ++arrived_;
      const size_t index = item->index;
      waiting_.emplace(index, std::move(*item));
      if (settings_.halt.ShouldHalt(arrived_ - arrived_failed_, arrived_failed_)) {
        ShowReady(/*all=*/true);
        streams_.Err("taskpool: --halt: stopping after " + std::to_string(done_) +
                     " results (" + std::to_string(failed_) +
                     " failed); the tasks still queued or running are cancelled\n");
        return ExitCode();
      }
      if (ShowReady(/*all=*/!settings_.ordered) == Verdict::kStop) return kExitFailure;
    }
    if (g_interrupted) {
      streams_.Err("taskpool: interrupted; the tasks not yet finished are cancelled\n");
      return kExitInterrupted;
    }
    return ExitCode();
  }

  // Shows the waiting results that are next in input order, or with `all`
  // every waiting one (in input order). kStop once stdout is gone.
  Verdict ShowReady(bool all) {
    while (!waiting_.empty() && (all || waiting_.begin()->first == next_to_show_)) {
      auto node = waiting_.extract(waiting_.begin());
      next_to_show_ = node.key() + 1;
      Show(node.mapped());
      if (!streams_.ok()) return Verdict::kStop;  // our reader went away
    }
    return Verdict::kGoOn;
  }

  void Show(const ResultStream::Item& item) {
    const ItemReport report = show_(item, inputs_.Take(item.index));
    ++done_;
    if (!report.ok) {
      ++failed_;
      if (first_failed_status_ == 0) first_failed_status_ = report.exit_status;
    }
    if (job_log_ != nullptr) job_log_->Write(report.log);
  }

  int ExitCode() const {
    if (failed_ == 0) return kExitOk;
    if (!settings_.shell_jobs) return kExitFailure;
    if (settings_.halt.first_failure() && first_failed_status_ != 0) return first_failed_status_;
    return static_cast<int>(std::min<uint64_t>(failed_, kExitMaxFailedJobs));
  }

  ProgressCounts Counts() const {
    return {.done = done_,
            .failed = failed_,
            .in_flight = inputs_.pulled() - std::min(inputs_.pulled(), done_),
            .total = settings_.total,
            .elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                base::SteadyClock::now() - started_)};
  }

  // The next result to arrive; before waiting for one, flushes stdout
  // (results show as they arrive, but without one write(2) per line when
  // they arrive in bursts) and keeps the progress line moving. nullopt at
  // the end of the stream or on Ctrl-C.
  std::optional<ResultStream::Item> NextWaitingQuietly() {
    std::optional<ResultStream::Item> item = stream_.next_for(std::chrono::milliseconds(0));
    if (item && item->result.code == ErrorCode::kWaitTimeout) streams_.Flush();
    while (item && item->result.code == ErrorCode::kWaitTimeout && !g_interrupted) {
      if (progress_ != nullptr) progress_->Update(Counts());
      item = stream_.next_for(kPollInterval);
    }
    if (progress_ != nullptr) progress_->Update(Counts());
    if (g_interrupted) return std::nullopt;
    return item;
  }

  ResultStream& stream_;
  InputsInFlight& inputs_;
  const ItemHandler& show_;
  OutputStreams& streams_;
  ProgressMeter* const progress_;
  JobLog* const job_log_;
  const MapRunSettings& settings_;
  const base::SteadyTime started_ = base::SteadyClock::now();
  // Arrived and not yet shown, by input index.
  std::map<size_t, ResultStream::Item> waiting_;
  size_t next_to_show_ = 0;
  uint64_t arrived_ = 0;
  uint64_t arrived_failed_ = 0;
  uint64_t done_ = 0;  // shown
  uint64_t failed_ = 0;
  int first_failed_status_ = 0;
};

}  // namespace

int RunMapStream(ResultStream& stream, InputsInFlight& inputs, const ItemHandler& show,
                 OutputStreams& streams, ProgressMeter* progress, JobLog* job_log,
                 const MapRunSettings& settings) {
  return MapRun(stream, inputs, show, streams, progress, job_log, settings).Run();
}

}  // namespace taskpool::cli
