// Tests for the shared-memory task queue, both sides together. The test is
// the supervisor (a SupervisorQueue); workers are fork()ed children that
// attach a WorkerQueue to its segment and leave with _exit(), so they never
// run gtest or destructors of the parent's objects. Failure tests are named
// for what they recover from. The parts that can be tested alone have
// tests of their own (ticket_ring_test, completion_ring_test,
// blob_store_test, slot_state_test).
#include <concepts>

#include "shmq/supervisor_queue.h"
#include "shmq/worker_queue.h"
#include "tests/shmq/shm_objects.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace taskpool::shmq {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The two sides are different types: a worker cannot call a supervisor
// operation, nor the supervisor a worker's.
template <typename Queue>
concept CanEnqueue = requires(Queue& q) { q.Enqueue(0u, std::string_view()); };
template <typename Queue>
concept CanCollect = requires(Queue& q) {
  q.CollectCompleted([](const CompletedTask&) {});
};
template <typename Queue>
concept CanRecover = requires(Queue& q) { q.RecoverDeadWorker(0u); };
template <typename Queue>
concept CanClaim = requires(Queue& q) { q.TryClaim(); };
static_assert(CanEnqueue<SupervisorQueue> && CanCollect<SupervisorQueue> &&
              CanRecover<SupervisorQueue> && !CanClaim<SupervisorQueue>);
static_assert(!CanEnqueue<WorkerQueue> && !CanCollect<WorkerQueue> &&
              !CanRecover<WorkerQueue> && CanClaim<WorkerQueue>);

// Function indices understood by the test worker.
enum Function : uint32_t {
  kEcho = 0,        // output = input
  kOutputOfSize,    // output = that many 'x' (input is the decimal size)
  kHang,            // never finishes
  kHangOnAttempt1,  // hangs on attempt 1, echoes "attempt N:" + input after
  kFail,            // fails with "boom"
  kSpinThenEcho,    // burns ~50 us of CPU, then echoes
};

QueueGeometry SmallGeometry() {
  QueueGeometry geometry;
  geometry.capacity = 64;
  geometry.max_workers = 8;
  geometry.inline_bytes = 256;
  geometry.max_payload_bytes = 4 << 20;
  return geometry;
}

std::unique_ptr<SupervisorQueue> MakeQueue(const QueueGeometry& geometry) {
  auto queue = SupervisorQueue::Create(geometry);
  EXPECT_TRUE(queue.ok()) << queue.status().ToString();
  return std::move(queue).value();
}

void RunTask(WorkerQueue& queue, const ClaimedTask& task) {
  switch (task.function_index) {
    case kEcho:
      queue.Complete(task, ErrorCode::kOk, task.input);
      return;
    case kOutputOfSize:
      queue.Complete(task, ErrorCode::kOk,
                     std::string(std::stoull(std::string(task.input)), 'x'));
      return;
    case kHangOnAttempt1:
      if (task.attempt > 1) {
        queue.Complete(task, ErrorCode::kOk,
                       "attempt " + std::to_string(task.attempt) + ":" +
                           std::string(task.input));
        return;
      }
      [[fallthrough]];
    case kHang:
      for (;;) pause();
    case kFail:
      queue.Complete(task, ErrorCode::kTaskFailed, "boom");
      return;
    case kSpinThenEcho: {
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (std::chrono::steady_clock::now() < until) {
      }
      queue.Complete(task, ErrorCode::kOk, task.input);
      return;
    }
  }
  queue.Complete(task, ErrorCode::kUnknownFunction, "?");
}

using WorkerBody = std::function<void(WorkerQueue&)>;

// Forks worker `worker`, attached to the queue's segment as a worker does
// after fork, running `body` (by default the task loop).
pid_t Spawn(SupervisorQueue& queue, uint32_t worker,
            const WorkerBody& body = nullptr) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  WorkerQueue attached(queue.segment(), worker, getpid());
  if (body) {
    body(attached);
  } else {
    for (;;) {
      if (auto task = attached.WaitAndClaim()) RunTask(attached, *task);
    }
  }
  _exit(0);
}

// Forks worker 0, which claims one task and completes it with a crash
// point armed: the process dies at that point inside Complete().
pid_t SpawnCompletingUntil(SupervisorQueue& queue,
                           internal::TestCrashPoint point) {
  return Spawn(queue, 0, [point](WorkerQueue& worker) {
    auto task = worker.TryClaim();
    if (!task) _exit(4);
    internal::SetTestCrashPoint(worker, point);
    worker.Complete(*task, ErrorCode::kOk, task->input);
    _exit(3);  // not reached if the crash point works
  });
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Reaps `pid` and returns its exit code (-1 if killed by a signal).
int ExitCodeOf(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Finished {
  SlotRef slot;
  uint32_t worker;
  pid_t worker_pid;
  ErrorCode code;
  std::string output;
  int64_t enqueued_ns, started_ns, finished_ns;
  // Where the output is when it went to the client's arena (ArenaInput).
  bool output_in_arena = false;
  uint64_t output_offset = 0, output_bytes = 0;
};

// Collects completions until `count` have arrived (or 10 s pass, a failure
// rather than a timing assumption).
std::vector<Finished> WaitForCompletions(SupervisorQueue& queue, size_t count) {
  std::vector<Finished> finished;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (finished.size() < count &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd ready{queue.results_ready_fd(), POLLIN, 0};
    poll(&ready, 1, 100);
    queue.CollectCompleted([&](const CompletedTask& task) {
      finished.push_back({task.slot, task.worker, task.worker_pid, task.code,
                          std::string(task.output), task.enqueued_ns,
                          task.started_ns, task.finished_ns, task.output_in_arena,
                          task.output_offset, task.output_bytes});
    });
  }
  EXPECT_EQ(finished.size(), count);
  return finished;
}

// Like WaitForCompletions, but collects only once the results eventfd is
// readable, so a completion that forgot to wake the supervisor fails the
// test instead of being picked up by a periodic collection.
std::vector<Finished> CollectWhenSignalled(SupervisorQueue& queue,
                                           size_t count) {
  std::vector<Finished> finished;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (finished.size() < count &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd ready{queue.results_ready_fd(), POLLIN, 0};
    if (poll(&ready, 1, 100) != 1) continue;
    queue.CollectCompleted([&](const CompletedTask& task) {
      finished.push_back({task.slot, task.worker, task.worker_pid, task.code,
                          std::string(task.output), task.enqueued_ns,
                          task.started_ns, task.finished_ns, task.output_in_arena,
                          task.output_offset, task.output_bytes});
    });
  }
  EXPECT_EQ(finished.size(), count) << "a completion was never signalled";
  return finished;
}

// Starts a fresh worker 1, lets it fall asleep, enqueues one echo of
// `text` and checks that its completion is signalled and delivered.
void ExpectWorkerOneEchoes(SupervisorQueue& queue, const std::string& text) {
  const pid_t survivor = Spawn(queue, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(queue.Enqueue(kEcho, text).ok());
  auto finished = CollectWhenSignalled(queue, 1);
  KillAndReap(survivor);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].output, text);
}

// Waits until worker `worker` says it is running a task.
void WaitUntilBusy(SupervisorQueue& queue, uint32_t worker) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!queue.activity(worker).busy) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string Pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  return bytes;
}

// ------------------------------------------------------------ basics

TEST(TaskQueueTest, RoundTripInline) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  auto ref = queue->Enqueue(kEcho, "hello");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(queue->in_use(), 1u);

  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].slot, *ref);
  EXPECT_EQ(finished[0].code, ErrorCode::kOk);
  EXPECT_EQ(finished[0].output, "hello");
  EXPECT_EQ(finished[0].worker, 0u);
  EXPECT_EQ(finished[0].worker_pid, worker);
  EXPECT_LE(finished[0].enqueued_ns, finished[0].started_ns);
  EXPECT_LE(finished[0].started_ns, finished[0].finished_ns);
  EXPECT_EQ(queue->in_use(), 0u);
  EXPECT_EQ(queue->depth(), 0u);
  EXPECT_EQ(queue->activity(0).pid, worker);
  EXPECT_EQ(queue->activity(0).tasks_done, 1u);
  KillAndReap(worker);
}

TEST(TaskQueueTest, InputsOfEachPlaceRoundTrip) {
  // In the slot itself, in its inline area, in a blob (layout.md, "Slot").
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  for (size_t size : {size_t{0}, size_t{1}, kSlotInputBytes, kSlotInputBytes + 1, size_t{256},
                      size_t{257}}) {
    const std::string input = Pattern(size);
    ASSERT_TRUE(queue->Enqueue(kEcho, input).ok()) << size;
    auto finished = WaitForCompletions(*queue, 1);
    ASSERT_EQ(finished.size(), 1u) << size;
    EXPECT_EQ(finished[0].output, input) << size;
  }
  KillAndReap(worker);
}

TEST(TaskQueueTest, RoundTripBlobPayloadsBothWays) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  const std::string input = Pattern(1 << 20);
  ASSERT_TRUE(queue->Enqueue(kEcho, input).ok());
  ASSERT_TRUE(queue->Enqueue(kOutputOfSize, std::to_string(1 << 20)).ok());

  auto finished = WaitForCompletions(*queue, 2);
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].code, ErrorCode::kOk);
  EXPECT_TRUE(finished[0].output == input) << "1 MiB echo differs";
  EXPECT_EQ(finished[1].output, std::string(1 << 20, 'x'));
  KillAndReap(worker);
  // Every blob was removed once delivered.
  EXPECT_THAT(ShmObjectsStartingWith(queue->name()),
              ::testing::ElementsAre(queue->name()));
}

// ------------------------------------------------------------ client arenas

// A client's payload arena as the daemon holds it: a sealed memfd, mapped
// here only so the test can write inputs and read outputs.
struct TestArena {
  static constexpr uint64_t kBytes = 4 << 20;
  std::shared_ptr<const int> fd;  // the hold: closes the descriptor last
  char* base = nullptr;
  uint64_t inode = 0;

  TestArena() {
    const int raw = memfd_create("queue-test-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_GE(raw, 0);
    EXPECT_EQ(ftruncate(raw, kBytes), 0);
    EXPECT_EQ(fcntl(raw, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    struct stat st {};
    EXPECT_EQ(fstat(raw, &st), 0);
    inode = st.st_ino;
    base = static_cast<char*>(mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, raw, 0));
    fd = std::shared_ptr<const int>(new int(raw), [](const int* held) {
      close(*held);
      delete held;
    });
  }
  ~TestArena() { munmap(base, kBytes); }

  ArenaInput Input(uint64_t offset, const std::string& input, uint32_t room) const {
    std::memcpy(base + offset, input.data(), input.size());
    return {*fd, inode, offset, input.size(), room, fd};
  }
};

TEST(TaskQueueTest, AnArenaInputIsReadFromTheArenaAndItsOutputWrittenBack) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  TestArena arena;
  const std::string input = Pattern(300 * 1024);
  ASSERT_TRUE(queue->Enqueue(kEcho, arena.Input(4096, input, input.size())).ok());
  // Held by the slot while it is in use, and let go once it is free.
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].code, ErrorCode::kOk) << finished[0].output;
  EXPECT_TRUE(finished[0].output.empty());
  ASSERT_TRUE(finished[0].output_in_arena);
  EXPECT_EQ(finished[0].output_offset, 4096 + input.size());
  ASSERT_EQ(finished[0].output_bytes, input.size());
  EXPECT_TRUE(std::string(arena.base + finished[0].output_offset, input.size()) == input);
  EXPECT_EQ(arena.fd.use_count(), 1);
  KillAndReap(worker);
}

TEST(TaskQueueTest, AnOutputThatDoesNotFitItsRoomGoesWhereOutputsGo) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  TestArena arena;
  const std::string input = Pattern(100 * 1024);
  ASSERT_TRUE(queue->Enqueue(kEcho, arena.Input(0, input, 100)).ok());
  ASSERT_TRUE(queue->Enqueue(kFail, arena.Input(input.size() + 100, input, 1 << 20)).ok());
  auto finished = WaitForCompletions(*queue, 2);
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_FALSE(finished[0].output_in_arena);
  EXPECT_TRUE(finished[0].output == input);
  // An error message is the supervisor's to read, whatever the room.
  EXPECT_EQ(finished[1].code, ErrorCode::kTaskFailed);
  EXPECT_FALSE(finished[1].output_in_arena);
  EXPECT_EQ(finished[1].output, "boom");
  KillAndReap(worker);
}

TEST(TaskQueueTest, AnArenaThatIsNoLongerTheOneNamedFailsItsTask) {
  // Its descriptor was closed and the number reused: the inode says so.
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  TestArena arena;
  ArenaInput input = arena.Input(0, Pattern(64 * 1024), 0);
  input.inode += 1;
  ASSERT_TRUE(queue->Enqueue(kEcho, std::move(input)).ok());
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].code, ErrorCode::kInternal);
  EXPECT_THAT(finished[0].output, HasSubstr("payload arena is gone"));
  KillAndReap(worker);
}

TEST(TaskQueueTest, AnArenaInputTakesTheSlotsKeptBlobAway) {
  // The arena's reference takes the input blob's place in the slot: a blob
  // the slot kept is removed first, not forgotten in /dev/shm.
  auto queue = MakeQueue([] {
    QueueGeometry geometry = SmallGeometry();
    geometry.capacity = 1;
    return geometry;
  }());
  queue->KeepBlobs(8 << 20);
  const pid_t worker = Spawn(*queue, 0);
  ASSERT_TRUE(queue->Enqueue(kEcho, Pattern(64 * 1024)).ok());
  ASSERT_EQ(WaitForCompletions(*queue, 1).size(), 1u);
  // Kept: its input blob and its output blob.
  const uint64_t kept = queue->kept_blob_bytes();
  const size_t objects = ShmObjectsStartingWith(queue->name()).size();
  ASSERT_EQ(objects, 3u);
  TestArena arena;
  const std::string input = Pattern(64 * 1024);
  ASSERT_TRUE(queue->Enqueue(kEcho, arena.Input(0, input, input.size())).ok());
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_TRUE(finished[0].output_in_arena);
  // The input blob is gone; the output blob, unused this time, is kept.
  EXPECT_EQ(queue->kept_blob_bytes(), kept - input.size());
  EXPECT_EQ(ShmObjectsStartingWith(queue->name()).size(), objects - 1);
  // And a large input after it goes to a fresh blob again.
  ASSERT_TRUE(queue->Enqueue(kEcho, input).ok());
  finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_TRUE(finished[0].output == input);
  KillAndReap(worker);
}

// ------------------------------------------------------------ kept blobs

// One slot, so every task reuses it (and whatever it kept).
std::unique_ptr<SupervisorQueue> OneSlotQueue(uint64_t keep_bytes) {
  QueueGeometry geometry = SmallGeometry();
  geometry.capacity = 1;
  auto queue = MakeQueue(geometry);
  queue->KeepBlobs(keep_bytes);
  return queue;
}

Finished RunOne(SupervisorQueue& queue, uint32_t function, const std::string& input) {
  EXPECT_TRUE(queue.Enqueue(function, input).ok());
  auto finished = WaitForCompletions(queue, 1);
  EXPECT_EQ(finished.size(), 1u);
  return finished.empty() ? Finished{} : finished[0];
}

// Echoes a 1 MiB input (blobs both ways); returns the input.
std::string EchoAMebibyte(SupervisorQueue& queue) {
  const std::string input = Pattern(1 << 20);
  EXPECT_TRUE(RunOne(queue, kEcho, input).output == input) << "1 MiB echo differs";
  return input;
}

TEST(TaskQueueTest, AFreedSlotKeepsItsBlobsAndTheNextLargeTaskRewritesThem) {
  auto queue = OneSlotQueue(8 << 20);
  const pid_t worker = Spawn(*queue, 0);
  EchoAMebibyte(*queue);
  const std::vector<std::string> kept = ShmObjectsStartingWith(queue->name());
  ASSERT_EQ(kept.size(), 3u) << "mark + input blob + output blob";
  EXPECT_EQ(queue->kept_blob_bytes(), uint64_t{2} << 20);

  // Smaller, then larger than what was kept: the same two files, cut or
  // grown to each payload, with nothing of the last one left in them.
  for (const size_t size : {size_t{300'000}, size_t{3} << 20}) {
    std::string input = Pattern(size);
    input[0] = 'Q';
    const Finished done = RunOne(*queue, kEcho, input);
    EXPECT_EQ(done.code, ErrorCode::kOk);
    EXPECT_TRUE(done.output == input) << size << "-byte echo differs";
    EXPECT_EQ(ShmObjectsStartingWith(queue->name()), kept) << "a new blob for " << size;
    EXPECT_EQ(queue->kept_blob_bytes(), 2 * size);
  }
  // A small task uses the inline area; the kept blobs wait.
  EXPECT_EQ(RunOne(*queue, kEcho, "tiny").output, "tiny");
  EXPECT_EQ(ShmObjectsStartingWith(queue->name()), kept);
  KillAndReap(worker);
}

TEST(TaskQueueTest, BlobsPastTheKeepBudgetAreRemoved) {
  auto queue = OneSlotQueue(1 << 20);
  const pid_t worker = Spawn(*queue, 0);
  // Input 1 MiB fits the budget; the 1 MiB output would pass it.
  EchoAMebibyte(*queue);
  EXPECT_EQ(ShmObjectsStartingWith(queue->name()).size(), 2u) << "mark + input blob";
  EXPECT_EQ(queue->kept_blob_bytes(), uint64_t{1} << 20);
  // Bigger than the whole budget: nothing kept.
  EXPECT_EQ(RunOne(*queue, kOutputOfSize, std::to_string(2 << 20)).output.size(),
            size_t{2} << 20);
  RunOne(*queue, kEcho, Pattern(2 << 20));
  EXPECT_THAT(ShmObjectsStartingWith(queue->name()), ::testing::ElementsAre(queue->name()));
  EXPECT_EQ(queue->kept_blob_bytes(), 0u);
  KillAndReap(worker);
}

// Enqueues `input` for `function`, waits until worker 0 (`doomed`) runs
// it, SIGKILLs that worker and returns what RecoverDeadWorker hands back.
std::vector<SlotRef> KillWhileRunning(SupervisorQueue& queue, pid_t doomed, uint32_t function,
                                      const std::string& input) {
  EXPECT_TRUE(queue.Enqueue(function, input).ok());
  WaitUntilBusy(queue, 0);
  KillAndReap(doomed);
  return queue.RecoverDeadWorker(0);
}

TEST(TaskQueueTest, AKeptOutputBlobOfAWorkerKilledMidTaskIsRemovedAndTheRetryMakesAnother) {
  auto queue = OneSlotQueue(8 << 20);
  const pid_t doomed = Spawn(*queue, 0);
  const std::string input = EchoAMebibyte(*queue);
  ASSERT_EQ(queue->kept_blob_bytes(), uint64_t{2} << 20);

  const std::vector<SlotRef> held = KillWhileRunning(*queue, doomed, kHangOnAttempt1, input);
  ASSERT_EQ(held.size(), 1u);
  // The output blob it may have been rewriting is gone; the input stays.
  EXPECT_EQ(ShmObjectsStartingWith(queue->name()).size(), 2u) << "mark + input blob";
  ASSERT_TRUE(queue->Requeue(held[0], 2).ok());

  const pid_t survivor = Spawn(*queue, 1);
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_TRUE(finished[0].output == "attempt 2:" + input);
  EXPECT_EQ(ShmObjectsStartingWith(queue->name()).size(), 3u) << "mark + input + new output";
  KillAndReap(survivor);
}

TEST(TaskQueueTest, FailureMessageIsDelivered) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  ASSERT_TRUE(queue->Enqueue(kFail, "").ok());
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].code, ErrorCode::kTaskFailed);
  EXPECT_EQ(finished[0].output, "boom");
  KillAndReap(worker);
}

TEST(TaskQueueTest, FifoOrderWithOneWorker) {
  auto queue = MakeQueue(SmallGeometry());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(queue->Enqueue(kEcho, std::to_string(i)).ok());
  }
  EXPECT_EQ(queue->depth(), 50u);
  const pid_t worker = Spawn(*queue, 0);
  auto finished = WaitForCompletions(*queue, 50);
  ASSERT_EQ(finished.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(finished[i].output, std::to_string(i));
  KillAndReap(worker);
}

TEST(TaskQueueTest, ManyTasksOverFourWorkersEachDeliveredOnce) {
  auto queue = MakeQueue(SmallGeometry());
  std::vector<pid_t> workers;
  for (uint32_t w = 0; w < 4; ++w) workers.push_back(Spawn(*queue, w));

  constexpr int kTasks = 3000;
  std::vector<int> delivered(kTasks, 0);
  int next = 0, total = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (total < kTasks && std::chrono::steady_clock::now() < deadline) {
    while (next < kTasks && queue->Enqueue(kEcho, std::to_string(next)).ok()) {
      ++next;
    }
    pollfd ready{queue->results_ready_fd(), POLLIN, 0};
    poll(&ready, 1, 100);
    total +=
        static_cast<int>(queue->CollectCompleted([&](const CompletedTask& t) {
          ++delivered[std::stoi(std::string(t.output))];
        }));
  }
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(delivered[i], 1) << "task " << i;
  uint64_t done_by_workers = 0;
  for (uint32_t w = 0; w < 4; ++w)
    done_by_workers += queue->activity(w).tasks_done;
  EXPECT_EQ(done_by_workers, static_cast<uint64_t>(kTasks));
  for (pid_t pid : workers) KillAndReap(pid);
}

TEST(TaskQueueTest, QueueFullWhenCapacityReached) {
  QueueGeometry geometry = SmallGeometry();
  geometry.capacity = 4;
  auto queue = MakeQueue(geometry);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(queue->Enqueue(kEcho, "x").ok());
  auto refused = queue->Enqueue(kEcho, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kQueueFull);
  EXPECT_EQ(queue->in_use(), 4u);
  EXPECT_EQ(queue->depth(), 4u);
}

TEST(TaskQueueTest, PayloadTooLargeBothWays) {
  QueueGeometry geometry = SmallGeometry();
  geometry.max_payload_bytes = 1024;
  auto queue = MakeQueue(geometry);
  auto refused = queue->Enqueue(kEcho, std::string(1025, 'a'));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(refused.status().message(), HasSubstr("1025"));
  EXPECT_THAT(refused.status().message(), HasSubstr("1024"));
  EXPECT_EQ(queue->in_use(), 0u);

  const pid_t worker = Spawn(*queue, 0);
  ASSERT_TRUE(queue->Enqueue(kOutputOfSize, "2000").ok());
  ASSERT_TRUE(queue->Enqueue(kOutputOfSize, "1024").ok());  // at the limit
  auto finished = WaitForCompletions(*queue, 2);
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].code, ErrorCode::kPayloadTooLarge);
  EXPECT_THAT(finished[0].output, HasSubstr("2000"));
  EXPECT_THAT(finished[0].output, HasSubstr("1024"));
  EXPECT_EQ(finished[1].code, ErrorCode::kOk);
  EXPECT_EQ(finished[1].output.size(), 1024u);
  KillAndReap(worker);
}

TEST(TaskQueueTest, WithdrawnBeforeClaimNeverRuns) {
  auto queue = MakeQueue(SmallGeometry());
  auto withdrawn = queue->Enqueue(kEcho, "withdrawn");
  auto kept = queue->Enqueue(kEcho, "kept");
  ASSERT_TRUE(withdrawn.ok() && kept.ok());
  EXPECT_TRUE(queue->TryWithdraw(*withdrawn));
  EXPECT_FALSE(queue->TryWithdraw(*withdrawn)) << "second withdraw";
  EXPECT_EQ(queue->depth(), 1u);
  EXPECT_EQ(queue->in_use(), 1u);

  // The withdrawn slot is reused at a new generation; its stale ticket
  // must not run the new task twice or the old one at all.
  auto reused = queue->Enqueue(kEcho, "reused");
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(reused->index, withdrawn->index);
  EXPECT_NE(reused->generation, withdrawn->generation);

  const pid_t worker = Spawn(*queue, 0);
  auto finished = WaitForCompletions(*queue, 2);
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].output, "kept");
  EXPECT_EQ(finished[1].output, "reused");
  // Nothing else arrives: run one more task as a barrier.
  ASSERT_TRUE(queue->Enqueue(kEcho, "barrier").ok());
  finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].output, "barrier");
  KillAndReap(worker);
}

TEST(TaskQueueTest, WithdrawAfterClaimFails) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t worker = Spawn(*queue, 0);
  auto ref = queue->Enqueue(kHang, "");
  ASSERT_TRUE(ref.ok());
  WaitUntilBusy(*queue, 0);
  EXPECT_FALSE(queue->TryWithdraw(*ref));
  EXPECT_EQ(queue->depth(), 0u);
  EXPECT_EQ(queue->in_use(), 1u);
  EXPECT_EQ(queue->activity(0).function_index, kHang);
  KillAndReap(worker);
}

int64_t UnixMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(TaskQueueTest, CancelFlagReachesTheRunningTaskAndIsClearedOnReuse) {
  auto queue = MakeQueue(SmallGeometry());
  auto waiting = queue->Enqueue(kHang, "wait", 1, {.deadline_unix_us = 12345});
  ASSERT_TRUE(waiting.ok());
  EXPECT_FALSE(queue->RequestCancel(*waiting)) << "queued, not running";
  // The worker reports the flag as each task starts and as it ends (the
  // first task waits for it, at most 10 s), and the deadline it was given.
  const pid_t worker = Spawn(*queue, 0, [](WorkerQueue& self) {
    for (int i = 0; i < 2; ++i) {
      std::optional<ClaimedTask> task;
      while (!task) task = self.WaitAndClaim();
      const bool at_start = self.CancelRequested(*task);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (task->input == "wait" && !self.CancelRequested(*task) &&
             std::chrono::steady_clock::now() < give_up) {
        usleep(1000);
      }
      const int64_t deadline_us =
          task->deadline ? std::chrono::duration_cast<std::chrono::microseconds>(
                               task->deadline->time_since_epoch())
                               .count()
                         : 0;
      const std::string report = std::string(at_start ? "set" : "clear") + "," +
                                 (self.CancelRequested(*task) ? "set" : "clear") + "," +
                                 std::to_string(deadline_us);
      self.Complete(*task, ErrorCode::kOk, report);
    }
    _exit(0);
  });
  WaitUntilBusy(*queue, 0);
  EXPECT_TRUE(queue->RequestCancel(*waiting));
  auto first = WaitForCompletions(*queue, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].output, "clear,set,12345");

  // The freed slot is reused, without the flag; the deadline is the claim
  // time plus the timeout when that is earlier than the deadline.
  const int64_t before_us = UnixMicrosNow();
  auto next = queue->Enqueue(kEcho, "quick", 1,
                             {.deadline_unix_us = before_us + 60'000'000,
                              .timeout_us = 5'000'000});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->index, waiting->index);
  auto second = WaitForCompletions(*queue, 1);
  const int64_t after_us = UnixMicrosNow();
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].output.rfind("clear,clear,", 0), 0u) << second[0].output;
  const int64_t deadline_us = std::stoll(second[0].output.substr(12));
  EXPECT_GE(deadline_us, before_us + 5'000'000);
  EXPECT_LE(deadline_us, after_us + 5'000'000);
  EXPECT_EQ(ExitCodeOf(worker), 0);
}

TEST(TaskQueueTest, TicketsOverflowingARingFullOfStaleEntriesStillRun) {
  QueueGeometry geometry = SmallGeometry();
  geometry.capacity = 2;  // ticket ring of 4
  auto queue = MakeQueue(geometry);
  // Without workers, withdrawn tasks leave stale tickets that fill the ring.
  for (int i = 0; i < 6; ++i) {
    auto ref = queue->Enqueue(kEcho, "withdrawn");
    ASSERT_TRUE(ref.ok());
    ASSERT_TRUE(queue->TryWithdraw(*ref));
  }
  ASSERT_TRUE(queue->Enqueue(kEcho, "a").ok());
  ASSERT_TRUE(queue->Enqueue(kEcho, "b").ok());
  const pid_t worker = Spawn(*queue, 0);
  auto finished = WaitForCompletions(*queue, 2);
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0].output, "a");
  EXPECT_EQ(finished[1].output, "b");
  KillAndReap(worker);
}

// ------------------------------------------------------------ failures

TEST(TaskQueueTest, WorkerKilledWhileRunningIsRecovered) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t doomed = Spawn(*queue, 0);
  const std::string input = Pattern(1 << 20);  // blob input must survive
  auto ref = queue->Enqueue(kHangOnAttempt1, input);
  ASSERT_TRUE(ref.ok());
  WaitUntilBusy(*queue, 0);
  KillAndReap(doomed);

  std::vector<SlotRef> held = queue->RecoverDeadWorker(0);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0], *ref);
  EXPECT_EQ(queue->in_use(), 1u) << "a recovered slot stays allocated";
  EXPECT_FALSE(queue->activity(0).busy);

  auto retry = queue->Requeue(held[0], 2);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->index, ref->index);
  EXPECT_NE(retry->generation, ref->generation);
  EXPECT_FALSE(queue->Requeue(held[0], 3).ok()) << "stale ref requeued";

  const pid_t survivor = Spawn(*queue, 1);
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].slot, *retry);
  EXPECT_EQ(finished[0].worker, 1u);
  EXPECT_TRUE(finished[0].output == "attempt 2:" + input);
  EXPECT_EQ(queue->in_use(), 0u);
  KillAndReap(survivor);
  EXPECT_THAT(ShmObjectsStartingWith(queue->name()),
              ::testing::ElementsAre(queue->name()));
}

TEST(TaskQueueTest, WorkerKilledWhileRunningCanBeReleased) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t doomed = Spawn(*queue, 0);
  const std::vector<SlotRef> held = KillWhileRunning(*queue, doomed, kHang, Pattern(4096));
  ASSERT_EQ(held.size(), 1u);
  queue->Release(held[0]);
  EXPECT_EQ(queue->in_use(), 0u);
  EXPECT_THAT(ShmObjectsStartingWith(queue->name()),
              ::testing::ElementsAre(queue->name()));
}

TEST(TaskQueueTest, WorkerKilledBetweenClaimStepsIsRecovered) {
  auto queue = MakeQueue(SmallGeometry());
  auto ref = queue->Enqueue(kEcho, "orphan");
  ASSERT_TRUE(ref.ok());

  // Takes the ticket, then dies before the slot CAS.
  const pid_t doomed = Spawn(*queue, 0, [](WorkerQueue& self) {
    internal::SetTestCrashPoint(self,
                                internal::TestCrashPoint::kBetweenClaimSteps);
    (void)self.TryClaim();
    _exit(3);  // not reached if the crash point works
  });
  ASSERT_EQ(ExitCodeOf(doomed), 0);
  EXPECT_EQ(queue->depth(), 1u) << "the task is still QUEUED";

  // Nobody can claim it now: its ticket is gone.
  const pid_t prober = Spawn(*queue, 1, [](WorkerQueue& self) {
    _exit(self.TryClaim().has_value() ? 1 : 0);
  });
  ASSERT_EQ(ExitCodeOf(prober), 0);

  EXPECT_THAT(queue->RecoverDeadWorker(0), IsEmpty());
  const pid_t survivor = Spawn(*queue, 1);
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].slot, *ref);
  EXPECT_EQ(finished[0].output, "orphan");
  KillAndReap(survivor);
}

TEST(TaskQueueTest, WorkerDiedAfterDoneIsDeliveredOnce) {
  auto queue = MakeQueue(SmallGeometry());
  auto ref = queue->Enqueue(kEcho, "late");
  ASSERT_TRUE(ref.ok());
  // Publishes DONE, then dies before the completion ring entry.
  const pid_t doomed =
      SpawnCompletingUntil(*queue, internal::TestCrashPoint::kAfterDonePublished);
  ASSERT_EQ(ExitCodeOf(doomed), 0);
  auto ignore = [](const CompletedTask&) {};
  EXPECT_EQ(queue->CollectCompleted(ignore), 0u) << "not in the ring";
  EXPECT_EQ(queue->in_use(), 1u);

  EXPECT_THAT(queue->RecoverDeadWorker(0), IsEmpty());
  auto finished = WaitForCompletions(*queue, 1);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].slot, *ref);
  EXPECT_EQ(finished[0].output, "late");
  EXPECT_EQ(queue->CollectCompleted(ignore), 0u);
  EXPECT_EQ(queue->in_use(), 0u);
}

TEST(TaskQueueTest, WorkerDiedAfterCompletionRingPushIsDeliveredOnce) {
  auto queue = MakeQueue(SmallGeometry());
  ASSERT_TRUE(queue->Enqueue(kEcho, "one").ok());
  const pid_t finished_worker = Spawn(*queue, 0, [](WorkerQueue& self) {
    auto task = self.TryClaim();
    if (task) self.Complete(*task, ErrorCode::kOk, task->input);
    _exit(task ? 0 : 4);
  });
  ASSERT_EQ(ExitCodeOf(finished_worker), 0);
  // The slot is both in the completion ring and found DONE by recovery.
  EXPECT_THAT(queue->RecoverDeadWorker(0), IsEmpty());
  size_t delivered = 0;
  for (int i = 0; i < 3; ++i) {
    delivered += queue->CollectCompleted([](const CompletedTask&) {});
  }
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(queue->in_use(), 0u);
}

// ------------------------------------------------------------ wake-ups

TEST(TaskQueueTest, SleepingWorkersAreWokenForEachTaskAndSignalEachResult) {
  auto queue = MakeQueue(SmallGeometry());
  std::vector<pid_t> workers;
  for (uint32_t w = 0; w < 3; ++w) workers.push_back(Spawn(*queue, w));
  // One task at a time, so the workers are asleep whenever one is pushed
  // and the supervisor has collected (cleared the flag) before each result.
  for (int round = 0; round < 30; ++round) {
    if (round % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(queue->Enqueue(kEcho, std::to_string(round)).ok());
    auto finished = CollectWhenSignalled(*queue, 1);
    ASSERT_EQ(finished.size(), 1u) << "round " << round;
    EXPECT_EQ(finished[0].output, std::to_string(round));
  }
  for (pid_t worker : workers) KillAndReap(worker);
}

TEST(TaskQueueTest, WorkerKilledWhileSleepingDoesNotStopWakeUps) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t sleeper = Spawn(*queue, 0);
  // Let it reach its futex wait (if it has not, the test still holds).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  KillAndReap(sleeper);
  EXPECT_THAT(queue->RecoverDeadWorker(0), IsEmpty());
  CollectWhenSignalled(*queue, 0);  // recovery's own signal, nothing to deliver

  ExpectWorkerOneEchoes(*queue, "after");
}

TEST(TaskQueueTest, WorkerKilledBeforeWakingSupervisorIsRecovered) {
  auto queue = MakeQueue(SmallGeometry());
  ASSERT_TRUE(queue->Enqueue(kEcho, "first").ok());
  // Completes fully (DONE, ring entry), takes the right to signal, and
  // dies before the eventfd write: no wake-up is pending, and every later
  // completion would skip its own.
  const pid_t doomed =
      SpawnCompletingUntil(*queue, internal::TestCrashPoint::kAfterResultsFlagged);
  ASSERT_EQ(ExitCodeOf(doomed), 0);
  pollfd ready{queue->results_ready_fd(), POLLIN, 0};
  EXPECT_EQ(poll(&ready, 1, 0), 0) << "the crash point did not hold";

  EXPECT_THAT(queue->RecoverDeadWorker(0), IsEmpty());
  auto first = CollectWhenSignalled(*queue, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].output, "first");

  ExpectWorkerOneEchoes(*queue, "second");
}

TEST(TaskQueueTest, LeftoversOfACrashedCreatorAreRemovedByTheNextCreate) {
  // A "daemon" that creates the queue with a blob, says its name, then
  // crashes.
  int name_pipe[2];
  ASSERT_EQ(pipe(name_pipe), 0);
  const pid_t crashed = fork();
  if (crashed == 0) {
    auto queue = SupervisorQueue::Create(SmallGeometry());
    if (!queue.ok()) _exit(1);
    if (!(*queue)->Enqueue(kEcho, Pattern(4096)).ok()) _exit(2);
    const std::string& name = (*queue)->name();
    if (write(name_pipe[1], name.data(), name.size()) != static_cast<ssize_t>(name.size())) {
      _exit(3);
    }
    _exit(0);  // no destructor: leaves the mark and its blob behind
  }
  close(name_pipe[1]);
  char name_bytes[128] = {};
  const ssize_t got = read(name_pipe[0], name_bytes, sizeof name_bytes - 1);
  close(name_pipe[0]);
  ASSERT_EQ(ExitCodeOf(crashed), 0);
  ASSERT_GT(got, 0);
  const std::string name(name_bytes, static_cast<size_t>(got));
  ASSERT_EQ(ShmObjectsStartingWith(name).size(), 2u) << "mark + input blob";

  {
    auto queue = SupervisorQueue::Create(SmallGeometry());
    ASSERT_TRUE(queue.ok()) << queue.status().ToString();
    EXPECT_THAT(ShmObjectsStartingWith(name), IsEmpty()) << "not swept at the next Create";
    EXPECT_NE((*queue)->name(), name);
    EXPECT_EQ((*queue)->in_use(), 0u);
  }
}

TEST(TaskQueueTest, TheSegmentHasNoNameAndTheMarkIsPrivate) {
  auto queue = MakeQueue(SmallGeometry());
  ASSERT_TRUE(queue->Enqueue(kEcho, Pattern(4096)).ok());  // a blob
  for (const std::string& file : ShmObjectsStartingWith(queue->name())) {
    struct stat st {};
    ASSERT_EQ(lstat(("/dev/shm/" + file).c_str(), &st), 0) << file;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  // The mapping is of an unlinked file: nothing in /dev/shm to open it by.
  const std::string maps = [] {
    std::ifstream in("/proc/self/maps");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  EXPECT_THAT(maps, HasSubstr("/dev/shm/#"));
  for (size_t at = maps.find("/dev/shm/"); at != std::string::npos;
       at = maps.find("/dev/shm/", at + 1)) {
    const std::string line = maps.substr(at, maps.find('\n', at) - at);
    EXPECT_THAT(line, HasSubstr("(deleted)")) << "a named mapping: " << line;
  }
}

TEST(TaskQueueTest, WorkerCopyDestroyedRemovesNothing) {
  auto queue = MakeQueue(SmallGeometry());
  const pid_t child = fork();
  if (child == 0) {
    queue.reset();  // the forked copy's destructor
    _exit(0);
  }
  ASSERT_EQ(ExitCodeOf(child), 0);
  EXPECT_THAT(ShmObjectsStartingWith(queue->name()),
              ::testing::ElementsAre(queue->name()));
}

TEST(TaskQueueTest, BadGeometryIsRefused) {
  QueueGeometry geometry = SmallGeometry();
  geometry.capacity = 0;
  EXPECT_EQ(SupervisorQueue::Create(geometry).status().code(),
            ErrorCode::kInvalidArgument);
}

// 4 workers run 2000 tiny tasks while the test SIGKILLs random workers and
// respawns them; every task must complete exactly once whatever instruction
// each victim died at.
TEST(TaskQueueTest, ChaosWorkersKilledAtRandomEachTaskCompletesOnce) {
  auto queue = MakeQueue(SmallGeometry());
  constexpr uint32_t kWorkers = 4;
  constexpr int kTasks = 2000;
  constexpr int kMaxKills = 60;
  std::vector<pid_t> workers;
  for (uint32_t w = 0; w < kWorkers; ++w) workers.push_back(Spawn(*queue, w));

  std::mt19937 random(12345);
  std::vector<int> delivered(kTasks, 0);
  int next = 0, total = 0, kills = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < kTasks && std::chrono::steady_clock::now() < deadline) {
    while (next < kTasks &&
           queue->Enqueue(kSpinThenEcho, std::to_string(next)).ok()) {
      ++next;
    }
    pollfd ready{queue->results_ready_fd(), POLLIN, 0};
    poll(&ready, 1, 2);
    total +=
        static_cast<int>(queue->CollectCompleted([&](const CompletedTask& t) {
          ASSERT_EQ(t.code, ErrorCode::kOk);
          ++delivered[std::stoi(std::string(t.output))];
        }));
    if (kills < kMaxKills) {
      const uint32_t victim = random() % kWorkers;
      KillAndReap(workers[victim]);
      ++kills;
      for (SlotRef held : queue->RecoverDeadWorker(victim)) {
        ASSERT_TRUE(queue->Requeue(held, 2).ok());
      }
      workers[victim] = Spawn(*queue, victim);
    }
  }
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(delivered[i], 1) << "task " << i;
  EXPECT_GT(kills, 0);
  EXPECT_EQ(queue->in_use(), 0u);
  EXPECT_EQ(queue->depth(), 0u);
  for (pid_t pid : workers) KillAndReap(pid);
}

}  // namespace
}  // namespace taskpool::shmq
