// How a taskpool Client connects and sends (ClientOptions) and how each
// task is run (SubmitOptions). Included by <taskpool/client.hpp>.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace taskpool {

struct ClientOptions {
  // Empty: $TASKPOOL_SOCKET, else /run/taskpool/taskpoold.sock.
  std::string socket_path;
  // Shown in the daemon's logs.
  std::string client_name = "libtaskpool";
  // How long Connect waits for the daemon's hello reply.
  std::chrono::milliseconds connect_timeout{5000};

  // The send budget. submit() does not wait for the daemon: submissions
  // the daemon has not read yet (its queue is full and it stopped reading
  // this connection, or this connection is at the daemon's
  // --max-in-flight) wait in the client, in submission order, and are sent
  // as the daemon reads. At most this many bytes of encoded submissions
  // and this many tasks wait so; a submission that does not fit (one
  // always fits when nothing waits) does what `when_unsent_full` says.
  uint64_t max_unsent_bytes = 64 << 20;
  uint64_t max_unsent_tasks = 100'000;
  enum class WhenUnsentFull {
    // submit() (and call, map, imap) waits until enough has been sent.
    // A submission from a callback never waits: it goes over the budget,
    // since its thread is the one that receives the results making room.
    kWait,
    // The task ends at once with QUEUE_FULL, without being sent: its
    // callback runs on the submitting thread, its future is ready. A
    // SubmitOptions::fail_if_full submission does this whatever is set
    // here.
    kFail,
  };
  WhenUnsentFull when_unsent_full = WhenUnsentFull::kWait;
  // Shared memory for large payloads (32 KiB and more): the client writes
  // such an input there, with as much room again for its output, the worker
  // copies it out and writes the output back, and neither crosses the
  // socket or passes through the daemon. It is made at connect (a sealed
  // memfd sent to the daemon) and costs memory only for the pages tasks
  // use, up to this many bytes, of which an idle connection keeps 64 MiB at
  // most; with it full, a payload goes over the socket instead. 0: no
  // arena.
  uint64_t payload_arena_bytes = 256 << 20;

  // Whether call() may poll for its result for a few microseconds before
  // it sleeps, which saves the cost of being woken when the answer is
  // about to come.
  enum class Spin {
    // Only where this process can use more CPUs than the daemon's workers
    // plus its supervisor (never on 2 CPUs with 2 workers), by at most that
    // many of its threads at once, and for at most twice as long as recent
    // answers took (never more than 50 us).
    kAuto,
    kNever,
    // As kAuto, but one thread may spin even without spare CPUs (a client
    // pinned to a CPU of its own, or a test).
    kAlways,
  };
  Spin spin = Spin::kAuto;
};

struct SubmitOptions {
  // Kill the task if it runs longer (0: the daemon's default).
  std::chrono::milliseconds timeout{0};
  // Give up if not finished this long after submission, queue wait
  // included (0: none).
  std::chrono::milliseconds deadline{0};
  // Re-run the task this many times if its worker dies.
  uint32_t max_retries = 0;
  // Fail with QUEUE_FULL instead of waiting when the daemon's queue is
  // full, or when the client's send budget is (ClientOptions).
  bool fail_if_full = false;
  // Tasks with the same non-empty lock key never run at the same time (in
  // any worker); they run in submission order. Empty: no lock.
  std::string lock;
};

}  // namespace taskpool
