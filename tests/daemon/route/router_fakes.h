// Fakes for testing the router without processes, sockets or waiting: a
// clock that moves when told, a queue with the shared-memory queue's slot
// rules in a vector, and clients that keep what they are sent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/route/remote_execution.h"
#include "daemon/route/router_clock.h"
#include "daemon/route/task_client.h"
#include "daemon/route/task_queue_port.h"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::daemon::testing {

// Time stands still until Advance(), which runs the tick when it is due,
// at the time it is due.
class FakeClock final : public RouterClock {
 public:
  TimePoint Now() const override { return now_; }
  std::chrono::system_clock::time_point WallNow() const override;
  void CallAfter(std::chrono::milliseconds after, std::function<void()> tick) override;

  // Moves time on by `duration`, running each tick that falls due.
  void Advance(std::chrono::steady_clock::duration duration);
  bool tick_pending() const { return tick_ != nullptr; }

 private:
  // Far from zero, so nothing mistakes a time for "none".
  TimePoint now_ = TimePoint(std::chrono::hours(1000));
  std::function<void()> tick_;
  TimePoint tick_due_{};
};

// The queue's rules without shared memory: slots FREE -> QUEUED ->
// RUNNING(worker) -> DONE, lowest free index first, FIFO claims, a new
// generation on each enqueue and requeue. The test plays the workers.
class FakeQueue final : public TaskQueuePort {
 public:
  enum class State { kFree, kQueued, kRunning, kDone };
  struct Slot {
    State state = State::kFree;
    uint32_t generation = 0;
    uint32_t function_index = 0;
    std::string input;
    RunLimits limits;
    bool chunk = false;
    uint32_t attempt = 0;
    uint32_t worker = 0;
    bool cancel_requested = false;
    ErrorCode code = ErrorCode::kOk;
    std::string output;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point finished{};
  };

  FakeQueue(const FakeClock& clock, uint32_t capacity);

  // TaskQueuePort
  uint32_t capacity() const override { return static_cast<uint32_t>(slots_.size()); }
  Result<TaskSlot> Enqueue(uint32_t function_index, std::string_view input, const RunLimits& limits,
                           bool chunk) override;
  // A fake slot with no input: the router's tests look at what it routes,
  // not at the bytes.
  Result<TaskSlot> EnqueueFromArena(uint32_t function_index, const ArenaSlice&,
                                    const RunLimits& limits) override {
    return Enqueue(function_index, {}, limits, false);
  }
  Result<TaskSlot> Requeue(TaskSlot slot, uint32_t attempt) override;
  bool TryWithdraw(TaskSlot slot) override;
  void Release(TaskSlot slot) override;
  size_t CollectCompleted(const FinishedCallback& on_done) override;
  std::vector<TaskSlot> RecoverDeadWorker(uint32_t worker) override;
  std::optional<uint32_t> RunningWorker(TaskSlot slot) const override;
  bool RequestCancel(TaskSlot slot) override;
  WorkerRun activity(uint32_t worker) const override;

  // Worker `worker` claims the oldest queued task; nullopt if none.
  std::optional<TaskSlot> Claim(uint32_t worker);
  // Worker `worker` finishes the task it runs with `code` and `output`.
  // REQUIRES: it runs one.
  void Finish(uint32_t worker, ErrorCode code, std::string output = "");
  // The next Enqueue fails with `status`.
  void FailNextEnqueue(Status status) { next_enqueue_error_ = std::move(status); }

  static pid_t WorkerPid(uint32_t worker) { return 5000 + static_cast<pid_t>(worker); }
  const Slot& slot(uint32_t index) const { return slots_.at(index); }
  size_t queued() const { return claims_.size(); }
  // Slots not FREE.
  uint32_t in_use() const;

 private:
  const Slot* Current(TaskSlot slot) const;
  Slot* Current(TaskSlot slot);

  const FakeClock& clock_;
  std::vector<Slot> slots_;
  std::deque<uint32_t> claims_;  // queued slot indices, oldest first
  std::vector<uint32_t> done_;   // finished slot indices, in order
  std::optional<Status> next_enqueue_error_;
};

// The other nodes of a cluster: take every task CanPublish allows and keep
// it; the test answers it through the router (DeliverRemoteResult,
// RunHere).
class FakeRemote final : public RemoteExecution {
 public:
  // RemoteExecution
  bool CanPublish(const TaskClient& client, const v1::Submit& submit,
                  bool known_here) const override;
  bool FromTheQueue(const TaskClient& client) const override {
    return client.id() == agent_connection;
  }
  void Publish(RemoteSubmission task) override { published.push_back(std::move(task)); }
  bool Cancel(const TaskClient& client, const v1::Cancel& cancel) override;
  std::vector<RemoteDrop> ConnectionClosed(const TaskClient& client) override;
  void CancelAll(const std::string& reason) override;
  size_t in_flight() const override { return published.size(); }

  // Takes out the published task `id` of connection `client`. REQUIRES: it
  // is there.
  RemoteSubmission Take(uint64_t client, uint64_t id);

  bool reachable = true;                // the queue takes tasks
  uint64_t agent_connection = 0;        // the cluster agent's TaskClient::id()
  std::set<std::string> others_have;    // functions other nodes offer
  std::vector<RemoteSubmission> published;  // not yet answered
  std::vector<uint64_t> cancelled;          // ids of Cancel calls taken
  std::vector<uint64_t> closed;             // connections closed
  std::vector<std::string> cancel_all;      // CancelAll reasons
};

// A connection: keeps the results it is sent and whether it is paused.
class FakeClient final : public TaskClient {
 public:
  FakeClient(uint64_t id, uid_t uid, pid_t pid = 4242) : id_(id), uid_(uid), pid_(pid) {}

  uint64_t id() const override { return id_; }
  uid_t peer_uid() const override { return uid_; }
  pid_t peer_pid() const override { return pid_; }
  void SendResult(const v1::Result& result, std::string_view output) override;
  void PauseReading() override { paused_ = true; }
  void ResumeReading() override { paused_ = false; }
  uint64_t buffered_bytes() const override { return buffered_bytes_; }
  // What buffered_bytes() says from now on (replies queued or written).
  void set_buffered_bytes(uint64_t bytes) { buffered_bytes_ = bytes; }

  const std::vector<v1::Result>& results() const { return results_; }
  // The result for task `id`; fails the test (and returns an empty one) if
  // there is not exactly one.
  v1::Result ResultFor(uint64_t id) const;
  bool HasResult(uint64_t id) const;
  bool paused() const { return paused_; }

 private:
  const uint64_t id_;
  const uid_t uid_;
  const pid_t pid_;
  std::vector<v1::Result> results_;
  bool paused_ = false;
  uint64_t buffered_bytes_ = 0;
};

}  // namespace taskpool::daemon::testing
