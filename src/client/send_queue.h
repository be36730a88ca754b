// The sending half of a connection to taskpoold: frames leave in the order
// they are given, and giving one never waits for the daemon to read.
//
// A frame goes straight to the socket, with one non-blocking sendmsg() on
// the caller's thread, when nothing waits before it and the daemon's
// per-connection in-flight limit has room for its tasks. Otherwise it
// waits here, in order: behind bytes the socket could not take yet (a
// writer thread, started the first time that happens, sends them with
// blocking writes as the daemon reads), or behind the in-flight limit
// (released as results come back, OnAnswered). What waits is bounded by a
// budget of bytes and tasks; Reserve says whether a frame fits, and waits
// for room or refuses, as the caller asks.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <google/protobuf/message_lite.h>

namespace taskpool::client {

class SendQueue {
 public:
  struct Budget {
    uint64_t max_bytes = 0;  // bytes of frames waiting in the client
    uint64_t max_tasks = 0;  // tasks in those frames
  };
  // Called once, on the writer thread, with the errno of a failed write.
  using ErrorHandler = std::function<void(int error_number)>;

  // `fd` stays owned by the caller and must outlive the queue; the caller
  // shuts it down to end a blocked write. `max_in_flight` 0: no limit.
  SendQueue(int fd, Budget budget, uint32_t max_in_flight, ErrorHandler on_error);
  // Close()s and joins the writer thread.
  // REQUIRES: not called from the ErrorHandler.
  ~SendQueue();

  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  enum class WhenFull {
    kWait,      // until frames ahead are sent
    kRefuse,    // return kFull at once
    kOverflow,  // reserve anyway (for a thread that must never wait)
  };
  enum class Room { kReserved, kFull, kClosed };

  // Counts a frame of about `bytes` holding `tasks` tasks as waiting, if
  // the budget has room for it (a frame always fits when nothing waits).
  // kClosed once Close() was called or a write failed: nothing more will
  // be sent, though Send() may still be called.
  Room Reserve(uint64_t bytes, uint64_t tasks, WhenFull when_full);
  // Gives back a reservation whose frame will not be sent.
  void Unreserve(uint64_t bytes, uint64_t tasks);

  // The tasks a frame carries, with ids first_id .. first_id + count - 1
  // (none for requests), and what Reserve counted for the frame.
  struct Tasks {
    uint64_t first_id = 0;
    uint64_t count = 0;
    uint64_t reserved_bytes = 0;
  };

  // Sends or queues `message` as one frame carrying `tasks`, after every
  // frame given before it. `in_order`, if set, runs under the queue's lock
  // at the frame's place in the order, so that what it records is ordered
  // like the frames. Dropped after Close() or a failed write.
  void Send(const google::protobuf::MessageLite& message, Tasks tasks,
            const std::function<void()>& in_order = {});

  // Sends `message` (a cancel, outside the budget) ahead of the frames the
  // in-flight limit still holds back, but after the one carrying task
  // `after_task_id` if that one is still held: the daemon must see a
  // task before its cancel, and should see the cancel of a running task
  // without waiting for tasks that wait only for it to finish.
  void SendAhead(const google::protobuf::MessageLite& message, uint64_t after_task_id);

  // `tasks` tasks got their results: room under the in-flight limit.
  void OnAnswered(uint64_t tasks);

  // Sends nothing more: drops what waits, and wakes every thread waiting in
  // Reserve (kClosed) and the writer (which ends). Idempotent.
  void Close();

 private:
  struct Frame {
    std::unique_ptr<char[]> bytes;  // never moves while the frame exists
    size_t size = 0;
    uint64_t tasks = 0;
    uint64_t first_id = 0;
    bool Carries(uint64_t id) const { return id >= first_id && id - first_id < tasks; }
  };
  static Frame Encode(const google::protobuf::MessageLite& message, size_t size,
                      uint64_t tasks, uint64_t first_id);

  bool Fits(uint64_t bytes, uint64_t tasks) const;
  bool MayRelease(uint64_t tasks) const;
  // Lets frames go as the in-flight limit allows.
  void Release();
  // Sends released frames without blocking; hands over to the writer when
  // the socket is full. REQUIRES: mutex_ held, writer not active.
  void Pump();
  // The released frames from the first unsent byte, at most `max` pieces.
  int GatherReleased(iovec* pieces, int max) const;
  // `bytes` of the released frames were sent.
  void Consume(size_t bytes);
  void HandOverToWriter();
  // Starts the writer thread the first time, wakes it after that.
  void WakeWriter();
  void Failed(int error_number);
  void Drop();
  void WriterLoop();

  const int fd_;
  const Budget budget_;
  const uint32_t max_in_flight_;
  const ErrorHandler on_error_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable room_;    // waiting bytes or tasks fell, or closed
  std::condition_variable writer_wake_;
  bool closed_ = false;
  int write_error_ = 0;  // errno of a failed write, for the writer to report
  bool writer_active_ = false;  // the writer owns sending the released frames
  std::thread writer_;          // started on first need
  uint64_t waiting_bytes_ = 0;  // reserved or queued, not yet in the socket
  uint64_t waiting_tasks_ = 0;
  uint64_t in_flight_ = 0;      // tasks released and not yet answered
  // The writer keeps only pointers to frames' bytes across unlocking, so
  // frames may be inserted anywhere in the deque meanwhile.
  std::deque<Frame> queue_;
  size_t released_ = 0;         // frames at the front the limit let go
  size_t head_sent_ = 0;        // bytes of queue_.front() already sent
  // Kept between frames for the direct path (a fresh buffer per large
  // frame is a page fault and a zero-fill per 4 KiB before the copy).
  std::unique_ptr<char[]> scratch_;
  size_t scratch_capacity_ = 0;
};

}  // namespace taskpool::client
