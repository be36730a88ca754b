// One live connection to taskpoold after the hello exchange: pipelined
// submissions that never wait for the daemon to read them (SendQueue), the
// results read by whichever thread holds the read role, and the rule that
// a broken connection fails everything pending at once and everything
// later immediately.
//
// The read role. One thread at a time reads the socket. A call() that is
// the only thing waiting takes the role itself and reads its own result,
// so a round trip wakes the calling thread once instead of waking a
// reader thread that then wakes the caller. Otherwise the connection's
// reader thread holds the role while anything is pending, and sleeps
// (without reading) while nothing is: then the next call() can take the
// role. A call() reading results that are not its own completes those that
// only fulfil a promise (call, the future form of submit) and hands the
// rest to the reader thread, so callbacks keep running there.
//
// Thread-safety: every public method may be called from any thread. Task
// callbacks run on the reader thread, or on the submitting thread when the
// task fails before it is sent (broken connection, payload too large, a
// full send budget with WhenUnsentFull::kFail), or on the thread that
// closes the connection; they are never called with a lock held.
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
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client/client_arena.h"
#include "client/frame_reader.h"
#include "client/handshake.h"
#include "client/send_queue.h"
#include "client/spin_wait.h"
#include "client/wire_convert.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::client {

class DaemonConnection {
 public:
  // The most bytes of items one chunk task carries. Sharing a task saves
  // per-task costs worth a few KiB of copying, so large items gain nothing
  // by it, and a chunk past the queue's inline area (64 KiB by default)
  // goes through a blob of its own, which costs more than the tasks it
  // saves (tests/bench: 64 KiB echoes at chunksize 16 moved 94 MiB/s as
  // chunks of 16, 138 as single tasks). A longer chunk is cut into runs of
  // this size.
  static constexpr uint64_t kMaxChunkBytes = 60 * 1024;

  // Called exactly once per task with the task's position in the payloads
  // of the Submit call that created it.
  using BatchCallback = std::function<void(size_t position, TaskResult)>;
  // Called once per chunk with the results of its payloads, the first
  // being at `first_position`.
  using ChunkCallback = std::function<void(size_t first_position, ChunkResults results)>;

  // Takes over a greeted socket and starts the reader thread. `options`
  // gives the send budget and the spin policy.
  DaemonConnection(Handshake handshake, const ClientOptions& options = {});

  // Completes everything pending with CANCELLED and joins the threads.
  ~DaemonConnection();

  DaemonConnection(const DaemonConnection&) = delete;
  DaemonConnection& operator=(const DaemonConnection&) = delete;

  // Sends `payloads` as tasks of `function`, batched in as few frames as
  // the daemon's size and in-flight limits allow. A payload above the size
  // limit completes at once with PAYLOAD_TOO_LARGE. Never waits for the
  // daemon: frames it cannot take yet wait in the send queue; only a full
  // send budget waits (or fails the tasks with QUEUE_FULL, see
  // ClientOptions). `result_only_fulfils_a_promise` lets any reading thread
  // run `on_result`. Returns the id given to the first task sent (ids are
  // consecutive within one frame), or 0 if none was sent.
  uint64_t Submit(std::string_view function,
                  std::span<const std::string_view> payloads,
                  const SubmitOptions& options, BatchCallback on_result,
                  bool result_only_fulfils_a_promise = false);

  // Sends `payloads` as chunk tasks (Submit.chunk): one worker runs
  // `function` on each in turn and the results come back together, far
  // cheaper per payload than separate tasks; `on_results` gets each
  // chunk's results together. Payloads of more than about 60 KiB together
  // are cut into several chunks (large items gain nothing by sharing a
  // task); a single payload, or payloads that together exceed the daemon's
  // payload limit, go as separate tasks (Submit), each result then on its
  // own.
  void SubmitChunk(std::string_view function,
                   std::span<const std::string_view> payloads,
                   const SubmitOptions& options, ChunkCallback on_results);

  // Runs one task and waits for its result (at most `wait`, then
  // WAIT_TIMEOUT; the task keeps running). Reads the result on this thread
  // when nothing else is pending.
  TaskResult Call(std::string_view function, std::string_view payload,
                  const SubmitOptions& options,
                  std::optional<std::chrono::milliseconds> wait);

  // Asks the daemon to cancel task `id` (see Client::cancel). No-op once
  // the connection is broken.
  void Cancel(uint64_t id, bool kill_running);

  // Sends a status or ping request and waits up to `wait` for its reply.
  Result<v1::ServerMessage> Request(const v1::ClientMessage& request,
                                    std::chrono::milliseconds wait);

  // False once the connection has broken. While nothing is pending nobody
  // reads the socket, so this looks whether the daemon has closed it.
  bool connected();

  // Breaks the connection now: pending tasks and requests complete with
  // CANCELLED, later ones fail with CONNECTION_LOST. The reader thread ends
  // on its own; the destructor joins it.
  void Close();

 private:
  // SubmitChunk for payloads of at most one chunk's bytes (or one that
  // falls back to separate tasks).
  void SubmitOneChunk(std::string_view function, std::span<const std::string_view> payloads,
                      const SubmitOptions& options, ChunkCallback on_results);

  // One task sent: a single payload for `callback`, or a chunk of `items`
  // payloads for `chunk_callback`, starting at `position`.
  struct Pending {
    std::shared_ptr<BatchCallback> callback;
    size_t position = 0;
    size_t items = 1;
    std::shared_ptr<ChunkCallback> chunk_callback;
    // The callback only fulfils a promise: any thread may run it.
    bool any_thread = false;
    // The task's input and output room in the payload arena, given back
    // with its result.
    std::optional<ClientArena::Range> arena_range;
  };
  using ReplyPromise = std::promise<Result<v1::ServerMessage>>;
  enum class ReadRole { kFree, kReaderThread, kCaller };
  struct Registered {
    uint64_t first_id = 0;   // 0: not registered (the tasks were failed)
    bool read_here = false;  // the caller took the read role
    bool reserved = false;   // room in the send queue: send the frame
  };

  // One Submit or SubmitBatch frame of about `bytes` with the tasks at
  // `positions`.
  uint64_t SubmitFrame(std::string_view function,
                       std::span<const std::string_view> payloads,
                       std::span<const size_t> positions,
                       const SubmitOptions& options,
                       const std::shared_ptr<BatchCallback>& callback,
                       uint64_t bytes, bool any_thread);
  TaskResult TooLarge(size_t payload_bytes) const;
  // Copies `payload` into the payload arena, with as much room again after
  // it for the output (or none, if only the input fits), when it is large
  // enough to be worth it and there is room; nullopt: it goes in the frame.
  std::optional<ClientArena::Range> PlaceInArena(std::string_view payload);
  // Fills everything of `submit` but the id for `payload`: pointing at its
  // `range` of the arena instead of carrying it, if it has one.
  static void ToWireTask(std::string_view function, std::string_view payload,
                         const std::optional<ClientArena::Range>& range,
                         const SubmitOptions& options, v1::Submit* submit);
  // Gives back the arena ranges of tasks that were never sent.
  void FreeArenaRanges(const std::vector<std::optional<ClientArena::Range>>& ranges);
  // Moves a result's output out of the arena into result.output, and gives
  // the task's range back.
  void TakeArenaOutput(ClientArena::Range range, v1::Result& result);
  // The result in `future`, or WAIT_TIMEOUT once `deadline` passes.
  static TaskResult Await(std::future<TaskResult>& future,
                          std::optional<FrameReader::Clock::time_point> deadline,
                          std::optional<std::chrono::milliseconds> wait);
  // Reserves room in the send budget for a frame of about `bytes` with
  // `tasks.size()` tasks, then registers them under consecutive ids
  // (before their frame is sent, so no result can arrive for an id we do
  // not know yet). On a full budget with the fail policy, or a broken
  // connection, fails every one of them instead. With `may_read_here`
  // the caller takes the read role if nothing else is pending. Without
  // room reserved (a write failed, the connection is about to break) the
  // tasks are registered but their frame must not be sent.
  Registered Register(std::vector<Pending> tasks, uint64_t bytes,
                      const SubmitOptions& options, bool may_read_here);
  SendQueue::WhenFull WhenFull(const SubmitOptions& options) const;
  // Completes each of the payloads of `task` with `result`.
  static void CompleteAll(const Pending& task, const TaskResult& result);

  // The reader thread: holds the read role while anything is pending,
  // completes results handed to it, acts on failures others noticed.
  void ReaderThread();
  // Reads as the reader thread until nothing is pending (true) or the
  // connection fails (false, after Fail).
  bool ReadWhilePending();
  // call()'s read: until the result of `id` arrives, `deadline` passes or
  // the connection fails. Gives the read role back before returning.
  TaskResult ReadOwnResult(uint64_t id, std::future<TaskResult>& future,
                           std::optional<FrameReader::Clock::time_point> deadline,
                           std::optional<std::chrono::milliseconds> wait);
  // Gives the read role back, waking the reader thread if it is needed.
  void ReleaseReadRole();
  // A failure noticed by a thread other than the reader: the reader thread
  // runs Fail, so callbacks still run there. Also gives back the role.
  void FailOnReaderThread(ErrorCode code, const std::string& why);
  bool NeedsReading() const;  // REQUIRES: mutex_ held

  // Handles one message. `on_reader_thread` false: a caller reads, and
  // wants the result of `own_id` in *own. Returns false if the message
  // failed the connection (an Error from the daemon); *failure says why.
  // On the reader thread, *role_released says whether it gave the read
  // role back (see Deliver); it must then stop reading at once.
  bool HandleMessage(v1::ServerMessage& message, bool on_reader_thread,
                     uint64_t own_id, std::optional<TaskResult>* own,
                     std::string* failure, bool* role_released = nullptr);
  // Takes the output out of `result` (no copy of a large output). True if
  // a pending task was answered. The reader thread gives the read role
  // back as it takes the last pending task, before completing it: the
  // caller it wakes may then read its next result itself (checking only
  // afterwards would let that caller's next task find the role taken, and
  // every call after it, too). Says so in *role_released.
  bool Deliver(v1::Result& result, bool on_reader_thread, uint64_t own_id,
               std::optional<TaskResult>* own, bool* role_released = nullptr);
  void AnswerRequest(const v1::ServerMessage& message, bool* role_released);
  // The reader thread's release of the role when nothing waits any more.
  // REQUIRES: mutex_ held.
  void ReleaseIfIdle(bool* role_released);

  // On the writer thread: a write failed.
  void WriteFailed(int error_number);
  // Marks the connection broken (once), wakes every blocked caller and
  // completes everything pending with `code` and `why`.
  void Fail(ErrorCode code, const std::string& why);

  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::local::stream_protocol::socket> socket_;
  // Null when the daemon took none (or the system could make none).
  const std::unique_ptr<ClientArena> arena_;
  const int fd_;
  const uint64_t max_payload_bytes_;
  const uint32_t max_in_flight_;  // 0: the daemon set no limit
  const ClientOptions::WhenUnsentFull when_unsent_full_;
  const SendQueue::Budget budget_;

  mutable std::mutex mutex_;  // guards everything below but the reader
  // Signalled when the connection breaks.
  std::condition_variable changed_;
  // Wakes the reader thread: work for it, or the connection broke.
  std::condition_variable reader_wake_;
  bool broken_ = false;
  std::string broken_reason_;
  // A failure noticed off the reader thread, for it to act on.
  std::optional<std::pair<ErrorCode, std::string>> failure_for_reader_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<std::shared_ptr<ReplyPromise>> replies_;
  ReadRole read_role_ = ReadRole::kFree;
  // Results a calling thread read for callbacks that run on the reader.
  std::deque<v1::Result> handed_to_reader_;

  // Used only by the holder of the read role.
  FrameReader reader_;
  AdaptiveSpin spin_;

  // After everything it calls into; destroyed (writer joined) first.
  SendQueue send_queue_;
  std::thread reader_thread_;  // last: starts once everything above exists
};

}  // namespace taskpool::client
