// One live connection to taskpoold after the hello exchange: pipelined
// submissions, one reader thread that completes them, and the rule that a
// broken connection fails everything pending at once and everything later
// immediately.
//
// Thread-safety: every public method may be called from any thread. Task
// callbacks run on the reader thread, or on the submitting thread when the
// task fails before it is sent (broken connection, payload too large);
// they are never called with a lock held.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client/handshake.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::client {

class DaemonConnection {
 public:
  // Called exactly once per task with the task's position in the payloads
  // of the Submit call that created it.
  using BatchCallback = std::function<void(size_t position, TaskResult)>;
  // Called once per chunk with the results of its payloads, in order,
  // the first being at `first_position`.
  using ChunkCallback =
      std::function<void(size_t first_position, std::vector<TaskResult> results)>;

  // Takes over a greeted socket and starts the reader thread.
  explicit DaemonConnection(Handshake handshake);

  // Completes everything pending with CANCELLED and joins the reader.
  ~DaemonConnection();

  DaemonConnection(const DaemonConnection&) = delete;
  DaemonConnection& operator=(const DaemonConnection&) = delete;

  // Sends `payloads` as tasks of `function`, batched in as few frames as
  // the daemon's size limit allows. A payload above that limit completes at
  // once with PAYLOAD_TOO_LARGE. Blocks while the daemon's per-connection
  // in-flight limit is reached, or while the socket is full, which is the
  // backpressure a flood of submissions meets. Returns the id given to the
  // first task sent (ids are consecutive within one frame), or 0 if none
  // was sent.
  uint64_t Submit(std::string_view function,
                  std::span<const std::string_view> payloads,
                  const SubmitOptions& options, BatchCallback on_result);

  // Sends `payloads` as one chunk task (Submit.chunk): one worker runs
  // `function` on each in turn and the results come back together, far
  // cheaper per payload than separate tasks; `on_results` gets their
  // results together. Payloads that together exceed the daemon's payload
  // limit, or a single one, go as separate tasks (Submit) instead, each
  // result then on its own.
  void SubmitChunk(std::string_view function,
                   std::span<const std::string_view> payloads,
                   const SubmitOptions& options, ChunkCallback on_results);

  // Asks the daemon to cancel task `id` (see Client::cancel). No-op once
  // the connection is broken.
  void Cancel(uint64_t id, bool kill_running);

  // Sends a status or ping request and waits up to `wait` for its reply.
  Result<v1::ServerMessage> Request(const v1::ClientMessage& request,
                                    std::chrono::milliseconds wait);

  bool connected() const;

  // Breaks the connection now: pending tasks and requests complete with
  // CANCELLED, later ones fail with CONNECTION_LOST. The reader thread ends
  // on its own; the destructor joins it.
  void Close();

 private:
  // One task sent: a single payload for `callback`, or a chunk of `items`
  // payloads for `chunk_callback`, starting at `position`.
  struct Pending {
    std::shared_ptr<BatchCallback> callback;
    size_t position = 0;
    size_t items = 1;
    std::shared_ptr<ChunkCallback> chunk_callback;
  };
  using ReplyPromise = std::promise<Result<v1::ServerMessage>>;

  // One Submit or SubmitBatch frame with the tasks at `positions`.
  // Returns the first task's id, or 0 if the connection is broken.
  uint64_t SubmitFrame(std::string_view function,
                   std::span<const std::string_view> payloads,
                   std::span<const size_t> positions,
                   const SubmitOptions& options,
                   const std::shared_ptr<BatchCallback>& callback);
  // Registers `tasks` under consecutive ids (before their frame is
  // written, so no result can arrive for an id we do not know yet), after
  // waiting for in-flight room. Returns the first id; 0 if the connection
  // is broken, after failing every one of them.
  uint64_t Register(std::vector<Pending> tasks);
  // Completes each of the payloads of `task` with `result`.
  static void CompleteAll(const Pending& task, const TaskResult& result);
  void ReadLoop(size_t max_frame_bytes);
  // Both take the outputs out of `message` (no copy of a large output).
  void Dispatch(v1::ServerMessage& message);
  void Complete(v1::Result& result);
  void AnswerRequest(const v1::ServerMessage& message);
  // Sends one frame; a failed write breaks the connection. A non-null
  // `reply` is queued for the answer in the same order as the frame.
  void Write(const v1::ClientMessage& message,
             std::shared_ptr<ReplyPromise> reply);
  // Called outside the write lock, since Fail runs callbacks.
  void WriteFailed(const boost::system::error_code& ec);
  // Marks the connection broken (once), wakes every blocked caller and
  // completes everything pending with `code` and `why`.
  void Fail(ErrorCode code, const std::string& why);
  void WaitForInFlightRoom(size_t tasks, std::unique_lock<std::mutex>& lock);

  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::local::stream_protocol::socket> socket_;
  const uint64_t max_payload_bytes_;
  const uint32_t max_in_flight_;  // 0: the daemon set no limit

  // Serializes whole frames on the socket, and keeps requests in the same
  // order as their waiters in replies_ (the daemon answers in order).
  std::mutex write_mutex_;
  // Guarded by write_mutex_: the frame being written, kept for the next.
  std::unique_ptr<char[]> frame_buffer_;
  size_t frame_capacity_ = 0;

  mutable std::mutex mutex_;  // guards everything below
  // Signalled as pending_ shrinks and when the connection breaks.
  std::condition_variable changed_;
  bool broken_ = false;
  std::string broken_reason_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<std::shared_ptr<ReplyPromise>> replies_;

  std::thread reader_;  // last: starts once everything above exists
};

}  // namespace taskpool::client
