// One connection holds at most --max-connection-memory-mib of the daemon's
// memory (issue 15, item 1): a client that sends and never reads is met
// with backpressure (the daemon stops reading it), whether it sends tasks,
// pings, status requests or one batch of a million tasks; other clients
// are served meanwhile; and what it held goes back to the system when it
// leaves.
//
// Each test waits for the state it needs (the daemon reports the
// connection paused at its budget), never for an amount of time. The
// resident size is read from /proc/PID/status; under AddressSanitizer,
// whose allocator keeps freed memory in quarantine, only the daemon's own
// accounting is checked.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "taskpool/client.hpp"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

constexpr uint64_t kMiB = 1 << 20;
// What a daemon may hold beyond the budget of its one busy connection: the
// parse arena, a read, the output blob being collected, the allocator's
// slack.
constexpr uint64_t kAllowance = 24 * kMiB;

constexpr bool kResidentSizeMeansSomething = !kUnderAddressSanitizer;

// VmRSS of `pid`, in bytes; 0 if it cannot be read.
uint64_t ResidentBytes(pid_t pid) {
  const long kib = ResidentKib(pid);
  return kib < 0 ? 0 : static_cast<uint64_t>(kib) * 1024;
}

// The status reply, asked for on `monitor` (results and others skipped).
v1::StatusReply StatusOf(RawConnection& monitor) {
  v1::ClientMessage request;
  request.mutable_status();
  monitor.Send(request);
  while (std::optional<v1::ServerMessage> reply = monitor.Receive(30000)) {
    if (reply->has_status()) return reply->status();
  }
  ADD_FAILURE() << "no status reply";
  return {};
}

// The connection that holds the most (the hostile one: the monitor holds
// next to nothing).
v1::ConnectionMemory Largest(const v1::StatusReply& status) {
  v1::ConnectionMemory largest;
  for (const v1::ConnectionMemory& connection : status.connection_memory()) {
    if (connection.held_bytes() > largest.held_bytes()) largest = connection;
  }
  return largest;
}

// A client that sends `bytes(1)`, `bytes(2)`, ... `bytes(count)` from a
// thread of its own and never reads; its sends block once the daemon stops
// reading it.
class Flooder {
 public:
  using Bytes = std::function<std::string(uint64_t)>;

  Flooder(const std::string& socket_path, Bytes bytes, uint64_t count)
      : connection_(socket_path) {
    EXPECT_TRUE(connection_.Greet());
    sender_ = std::thread([this, bytes = std::move(bytes), count] {
      for (uint64_t i = 1; i <= count && !stopped_; ++i) connection_.SendBytes(bytes(i));
    });
  }
  // Goes away: the daemon sees the connection close.
  ~Flooder() { Leave(); }

  void Leave() {
    if (!sender_.joinable()) return;
    stopped_ = true;
    connection_.Shutdown();
    sender_.join();
  }

 private:
  RawConnection connection_;
  std::atomic<bool> stopped_{false};
  std::thread sender_;
};

std::string Frame(const v1::ClientMessage& message) {
  std::string frame;
  wire::AppendFrame(message, &frame);
  return frame;
}

// The same bytes every time: `copies` of `message`'s frame, so that the
// flood goes in fewer, larger sends.
Flooder::Bytes Repeated(const v1::ClientMessage& message, size_t copies) {
  const std::string one = Frame(message);
  std::string many;
  many.reserve(one.size() * copies);
  for (size_t i = 0; i < copies; ++i) many += one;
  return [many](uint64_t) { return many; };
}

// Waits until the daemon reports a connection paused that holds at least
// `budget`; returns the status then.
v1::StatusReply WaitUntilPausedAtBudget(RawConnection& monitor, uint64_t budget) {
  v1::StatusReply status;
  const bool paused = WaitFor(
      [&] {
        status = StatusOf(monitor);
        const v1::ConnectionMemory largest = Largest(status);
        return largest.paused() && largest.held_bytes() >= budget;
      },
      std::chrono::seconds(120));
  EXPECT_TRUE(paused) << "no connection paused at its budget: " << status.DebugString();
  return status;
}

void ExpectResidentWithin(pid_t pid, uint64_t baseline, uint64_t budget, const char* when) {
  if (!kResidentSizeMeansSomething) return;
  const uint64_t resident = ResidentBytes(pid);
  EXPECT_LE(resident, baseline + budget + kAllowance)
      << when << ": " << resident / kMiB << " MiB resident, started at " << baseline / kMiB
      << " MiB, budget " << budget / kMiB << " MiB";
}

// After the hostile client left: back near where the daemon started.
void ExpectMemoryReturned(RawConnection& monitor, pid_t pid, uint64_t baseline) {
  ASSERT_TRUE(WaitFor([&] { return StatusOf(monitor).connection_memory_size() == 1; }))
      << "the flooder's connection is still open";
  if (!kResidentSizeMeansSomething) return;
  uint64_t resident = 0;
  EXPECT_TRUE(WaitFor([&] {
    resident = ResidentBytes(pid);
    return resident <= baseline + 16 * kMiB;
  })) << resident / kMiB << " MiB still resident after the client left, started at "
      << baseline / kMiB << " MiB";
}

TEST(ConnectionMemory, AClientThatSendsAGibibyteOfEchoesAndNeverReadsIsHeldAtItsBudget) {
  DaemonProcess daemon(2);
  RawConnection monitor(daemon.socket_path());
  ASSERT_TRUE(monitor.Greet());
  const uint64_t budget = StatusOf(monitor).max_connection_memory_bytes();
  ASSERT_EQ(budget, 64 * kMiB) << "the default";
  const uint64_t baseline = ResidentBytes(daemon.pid());

  // 1024 echoes of 1 MiB, each with an id of its own.
  const auto echo = [](uint64_t id) {
    v1::ClientMessage message;
    message.mutable_submit()->set_id(id);
    message.mutable_submit()->set_function("echo");
    message.mutable_submit()->set_payload(std::string(kMiB, 'e'));
    return Frame(message);
  };
  Flooder flooder(daemon.socket_path(), echo, 1024);
  WaitUntilPausedAtBudget(monitor, budget);
  ExpectResidentWithin(daemon.pid(), baseline, budget, "paused");
  // The tasks it had in flight end too; their replies stay unwritten.
  v1::StatusReply settled;
  ASSERT_TRUE(WaitFor([&] {
    settled = StatusOf(monitor);
    return settled.running() == 0 && settled.queue_depth() == 0;
  }));
  EXPECT_LT(settled.tasks_submitted(), 1024u) << "the daemon read on past its budget";
  EXPECT_TRUE(Largest(settled).paused());
  ExpectResidentWithin(daemon.pid(), baseline, budget, "in-flight tasks done");

  flooder.Leave();
  ExpectMemoryReturned(monitor, daemon.pid(), baseline);
}

// Floods a daemon with a 6 MiB budget with `count` sends of `copies`
// frames of `message` each, never reading; the daemon must stop at its
// budget and let go of the memory when the client leaves.
void ExpectFloodHeldAtASmallBudget(const v1::ClientMessage& message, size_t copies,
                                   uint64_t count) {
  constexpr uint64_t kBudget = 6 * kMiB;  // valid with 2 MiB payloads: twice a 3 MiB frame
  DaemonProcess daemon(1, {"--max-payload-bytes", "2097152", "--max-connection-memory-mib", "6"});
  RawConnection monitor(daemon.socket_path());
  ASSERT_TRUE(monitor.Greet());
  const uint64_t baseline = ResidentBytes(daemon.pid());
  Flooder flooder(daemon.socket_path(), Repeated(message, copies), count);
  WaitUntilPausedAtBudget(monitor, kBudget);
  ExpectResidentWithin(daemon.pid(), baseline, kBudget, "paused");
  flooder.Leave();
  ExpectMemoryReturned(monitor, daemon.pid(), baseline);
}

TEST(ConnectionMemory, FortyMillionPingsNeverReadAreHeldAtTheBudget) {
  v1::ClientMessage ping;
  ping.mutable_ping()->set_nonce(1);
  ExpectFloodHeldAtASmallBudget(ping, 10'000, 40'000'000 / 10'000);
}

TEST(ConnectionMemory, StatusRequestsNeverReadAreHeldAtTheBudget) {
  v1::ClientMessage request;
  request.mutable_status();
  ExpectFloodHeldAtASmallBudget(request, 10'000, 100'000);
}

// A million tasks in one frame (21 MB: --max-payload-bytes makes room for
// it), of a function with a --limit of 1, so all but one are held in the
// daemon rather than run; --max-in-flight lets them all in, and only the
// budget stops the daemon taking the whole batch.
TEST(ConnectionMemory, AMillionTaskBatchIsAdmittedOnlyUpToTheBudget) {
  constexpr uint64_t kBudget = 42 * kMiB;  // twice a frame of 20 MiB + 1 MiB
  DaemonProcess daemon(2, {"--max-in-flight", "1000000", "--limit", "sleep=1",
                           "--max-payload-bytes", "20971520", "--max-connection-memory-mib",
                           "42"});
  RawConnection monitor(daemon.socket_path());
  ASSERT_TRUE(monitor.Greet());
  const uint64_t baseline = ResidentBytes(daemon.pid());
  v1::ClientMessage batch;
  constexpr uint64_t kTasks = 1'000'000;
  for (uint64_t id = 1; id <= kTasks; ++id) {
    v1::Submit* task = batch.mutable_submit_batch()->add_tasks();
    task->set_id(id);
    task->set_function("sleep");
    task->set_payload("60000");
  }
  auto flooder = std::make_unique<Flooder>(daemon.socket_path(), Repeated(batch, 1), 1);
  batch.Clear();
  const v1::StatusReply paused = WaitUntilPausedAtBudget(monitor, kBudget);
  EXPECT_LT(paused.tasks_submitted(), kTasks) << "the whole batch went in";
  ExpectResidentWithin(daemon.pid(), baseline, kBudget, "paused");

  // Another client is not held up by it: the other worker is free.
  auto other = ConnectTo(daemon.socket_path());
  ASSERT_NE(other, nullptr);
  const auto asked = std::chrono::steady_clock::now();
  const TaskResult echoed = other->call("echo", "hi");
  EXPECT_TRUE(echoed.ok()) << echoed.status().ToString();
  EXPECT_EQ(echoed.output, "hi");
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(10));
  other.reset();

  flooder.reset();
  ExpectMemoryReturned(monitor, daemon.pid(), baseline);
}

}  // namespace
}  // namespace taskpool::testing
