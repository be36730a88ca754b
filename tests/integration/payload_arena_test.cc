// Payloads by reference: a client's payload arena (a sealed memfd sent with
// the hello) holds large inputs and their outputs, so neither crosses the
// socket. What the daemon takes and refuses is driven with raw protocol
// bytes; what a killed client or worker leaves behind, by killing them.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "tests/integration/daemon_fixture.h"
#include "tests/integration/raw_connection.h"

namespace taskpool::testing {
namespace {

constexpr uint64_t kArenaBytes = 4 << 20;
constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

// A memfd of `bytes`, sealed with `seals`, mapped read-write.
class Arena {
 public:
  explicit Arena(uint64_t bytes = kArenaBytes, int seals = kSeals)
      : fd_(memfd_create("test-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING)), bytes_(bytes) {
    EXPECT_TRUE(fd_.valid()) << std::strerror(errno);
    EXPECT_EQ(ftruncate(fd_.get(), static_cast<off_t>(bytes)), 0);
    if (seals != 0) {
      EXPECT_EQ(fcntl(fd_.get(), F_ADD_SEALS, seals), 0);
    }
    void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    EXPECT_NE(base, MAP_FAILED);
    base_ = static_cast<char*>(base);
  }
  ~Arena() { munmap(base_, bytes_); }

  int fd() const { return fd_.get(); }
  uint64_t bytes() const { return bytes_; }
  void Write(uint64_t offset, const std::string& bytes) {
    std::memcpy(base_ + offset, bytes.data(), bytes.size());
  }
  std::string Read(uint64_t offset, uint64_t size) const { return {base_ + offset, size}; }

 private:
  base::UniqueFd fd_;
  uint64_t bytes_;
  char* base_ = nullptr;
};

// Bytes that differ from place to place, so a misplaced copy shows.
std::string Pattern(size_t size, char seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + i * 7 % 251);
  return bytes;
}

v1::ClientMessage HelloWithArena(uint64_t bytes) {
  v1::ClientMessage hello;
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_CURRENT);
  hello.mutable_hello()->set_payload_arena_bytes(bytes);
  return hello;
}

// Says hello with `arena`; the reply, or nullopt.
std::optional<v1::ServerMessage> GreetWithArena(RawConnection& connection, const Arena& arena) {
  connection.SendWithDescriptor(HelloWithArena(arena.bytes()), arena.fd());
  return connection.Receive();
}

v1::ClientMessage SubmitFromArena(uint64_t id, const std::string& function, uint64_t offset,
                                  uint64_t size, uint64_t room) {
  v1::ClientMessage message;
  v1::Submit& submit = *message.mutable_submit();
  submit.set_id(id);
  submit.set_function(function);
  submit.mutable_payload_in_arena()->set_offset(offset);
  submit.mutable_payload_in_arena()->set_size(size);
  submit.set_output_room(room);
  return message;
}

// The next Result, skipping nothing else: a test here expects only results.
v1::Result ReceiveResult(RawConnection& connection) {
  const std::optional<v1::ServerMessage> reply = connection.Receive(30'000);
  if (!reply || !reply->has_result()) {
    ADD_FAILURE() << "no result: " << (reply ? reply->DebugString() : "connection closed");
    return {};
  }
  return reply->result();
}

void ExpectRefusal(RawConnection& connection, v1::ErrorCode code, const std::string& words) {
  const std::optional<v1::ServerMessage> reply = connection.Receive();
  ASSERT_TRUE(reply && reply->has_error()) << (reply ? reply->DebugString() : "closed");
  EXPECT_EQ(reply->error().code(), code) << reply->error().message();
  EXPECT_NE(reply->error().message().find(words), std::string::npos) << reply->error().message();
  EXPECT_TRUE(connection.ClosedByDaemon());
}

// The test's arenas, and the client library's, by their memfd names.
constexpr char kTestArena[] = "memfd:test-arena";
constexpr char kLibraryArena[] = "memfd:taskpool-arena";

// How many of `pid`'s descriptors are memfds named `name`.
size_t ArenaDescriptors(pid_t pid, const std::string& name = kTestArena) {
  size_t count = 0;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    std::error_code link_error;
    const auto target = std::filesystem::read_symlink(entry.path(), link_error);
    if (!link_error && target.string().find(name) != std::string::npos) ++count;
  }
  return count;
}

// How many of `pid`'s mappings are of the test's arenas.
size_t ArenaMappings(pid_t pid) {
  return CountOccurrences(ReadFile("/proc/" + std::to_string(pid) + "/maps"), kTestArena);
}

size_t ArenaMappingsInWorkers(pid_t daemon) {
  size_t count = 0;
  for (pid_t worker : ChildrenOf(daemon)) count += ArenaMappings(worker);
  return count;
}

// A daemon with the cancellation plugin's slow tasks, a raw connection to
// it, and an arena for that connection_.
class PayloadArena : public ::testing::Test {
 protected:
  // Says hello with the arena; false if the daemon did not answer.
  bool Greet() { return GreetWithArena(connection_, arena_).has_value(); }

  DaemonProcess daemon_{1, {"--plugin", CANCELLATION_PLUGIN_PATH}};
  RawConnection connection_{daemon_.socket_path()};
  Arena arena_;
};

TEST_F(PayloadArena, InputAndOutputStayInTheArena) {
  const std::optional<v1::ServerMessage> reply = GreetWithArena(connection_, arena_);
  ASSERT_TRUE(reply && reply->has_hello()) << (reply ? reply->DebugString() : "closed");
  EXPECT_TRUE(reply->hello().payload_arena_accepted());

  const std::string input = Pattern(300 * 1024, 'a');
  arena_.Write(4096, input);
  connection_.Send(SubmitFromArena(1, "echo", 4096, input.size(), input.size()));
  const v1::Result result = ReceiveResult(connection_);
  EXPECT_EQ(result.code(), v1::OK) << result.error();
  EXPECT_TRUE(result.output().empty());
  ASSERT_TRUE(result.has_output_in_arena());
  EXPECT_EQ(result.output_in_arena().offset(), 4096 + input.size());
  ASSERT_EQ(result.output_in_arena().size(), input.size());
  EXPECT_TRUE(arena_.Read(result.output_in_arena().offset(), input.size()) == input);
}

TEST_F(PayloadArena, AnOutputLargerThanItsRoomComesOverTheSocket) {
  ASSERT_TRUE(Greet());
  const std::string input = Pattern(100 * 1024, 'b');
  arena_.Write(0, input);
  connection_.Send(SubmitFromArena(1, "echo", 0, input.size(), 10));
  const v1::Result result = ReceiveResult(connection_);
  EXPECT_EQ(result.code(), v1::OK) << result.error();
  EXPECT_FALSE(result.has_output_in_arena());
  EXPECT_TRUE(result.output() == input);
}

TEST_F(PayloadArena, AnUnsealedArenaIsRefusedSayingWhichSeals) {
  Arena unsealed(kArenaBytes, 0);
  connection_.SendWithDescriptor(HelloWithArena(kArenaBytes), unsealed.fd());
  ExpectRefusal(connection_, v1::INVALID_ARGUMENT, "F_SEAL_SHRINK");
}

TEST_F(PayloadArena, AnArenaOfAnotherSizeThanAnnouncedIsRefused) {
  connection_.SendWithDescriptor(HelloWithArena(kArenaBytes * 2), arena_.fd());
  ExpectRefusal(connection_, v1::INVALID_ARGUMENT, "Hello.payload_arena_bytes");
}

TEST_F(PayloadArena, AHelloThatAnnouncesAnArenaMustBringIt) {
  connection_.Send(HelloWithArena(kArenaBytes));
  ExpectRefusal(connection_, v1::PROTOCOL_VIOLATION, "SCM_RIGHTS");
}

TEST_F(PayloadArena, ARangeOutsideTheArenaIsAProtocolViolation) {
  ASSERT_TRUE(Greet());
  // Offset and size that wrap around 2^64 when added.
  connection_.Send(SubmitFromArena(1, "echo", kArenaBytes - 8, UINT64_MAX - 4, 0));
  ExpectRefusal(connection_, v1::PROTOCOL_VIOLATION, "outside the arena");
}

TEST_F(PayloadArena, AnInputInAnArenaNeedsOne) {
  ASSERT_TRUE(connection_.Greet());
  connection_.Send(SubmitFromArena(1, "echo", 0, 100, 0));
  ExpectRefusal(connection_, v1::PROTOCOL_VIOLATION, "no payload arena");
}

// The seals are what keep a worker's mapping from faulting; the daemon
// refuses an arena without them (above), and with them the client cannot
// cut the file.
TEST_F(PayloadArena, AClientCannotTruncateItsArenaAfterTheHello) {
  ASSERT_TRUE(Greet());
  EXPECT_NE(ftruncate(arena_.fd(), 0), 0);
  EXPECT_EQ(errno, EPERM);
  const std::string input = Pattern(64 * 1024, 'c');
  arena_.Write(0, input);
  connection_.Send(SubmitFromArena(1, "echo", 0, input.size(), input.size()));
  const v1::Result result = ReceiveResult(connection_);
  EXPECT_EQ(result.code(), v1::OK) << result.error();
  EXPECT_TRUE(arena_.Read(result.output_in_arena().offset(), input.size()) == input);
}

// The worker copies the input out when it claims the task: what the client
// writes over it afterwards does not reach the running task.
TEST_F(PayloadArena, ChangesToTheInputAfterTheTaskStartedDoNotReachIt) {
  ASSERT_TRUE(Greet());
  const std::string input = Pattern(200 * 1024, 'd');
  arena_.Write(0, input);
  connection_.Send(SubmitFromArena(1, "echo_when_cancelled", 0, input.size(), input.size()));
  ASSERT_TRUE(daemon_.WaitForLog("polling cancelled()"));
  arena_.Write(0, std::string(input.size(), 'X'));
  v1::ClientMessage cancel;
  cancel.mutable_cancel()->set_id(1);
  connection_.Send(cancel);
  const v1::Result result = ReceiveResult(connection_);
  EXPECT_EQ(result.code(), v1::OK) << result.error();
  ASSERT_TRUE(result.has_output_in_arena());
  EXPECT_TRUE(arena_.Read(result.output_in_arena().offset(), input.size()) == input);
}

// A worker killed while it holds the arena mapped: the retry maps it again
// and answers from the same input.
TEST_F(PayloadArena, AWorkerKilledHoldingTheArenaIsRetriedFromIt) {
  std::unique_ptr<Client> observer = ConnectTo(daemon_.socket_path());
  ASSERT_NE(observer, nullptr);
  ASSERT_TRUE(Greet());
  const std::string input = Pattern(200 * 1024, 'e');
  arena_.Write(0, input);
  v1::ClientMessage submit = SubmitFromArena(1, "echo_when_cancelled", 0, input.size(),
                                             input.size());
  submit.mutable_submit()->set_max_retries(1);
  connection_.Send(submit);
  const pid_t worker = WaitForBusyWorker(*observer);
  ASSERT_GT(worker, 0);
  ASSERT_TRUE(WaitFor([&] { return ArenaMappings(worker) > 0; }));
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  ASSERT_TRUE(daemon_.WaitForLog("retrying task 1"));
  ASSERT_GT(WaitForBusyWorker(*observer), 0);
  v1::ClientMessage cancel;
  cancel.mutable_cancel()->set_id(1);
  connection_.Send(cancel);
  const v1::Result result = ReceiveResult(connection_);
  EXPECT_EQ(result.code(), v1::OK) << result.error();
  EXPECT_EQ(result.attempts(), 2u);
  ASSERT_TRUE(result.has_output_in_arena());
  EXPECT_TRUE(arena_.Read(result.output_in_arena().offset(), input.size()) == input);
}

// A client killed while a worker has its payload mapped: the task ends
// (its client is gone), the worker writes into memory only it still maps,
// and then nothing holds the arena: not the supervisor's descriptor, and
// not the workers' mappings once they idle.
TEST_F(PayloadArena, AClientKilledMidTaskLeavesItsMemoryToBeFreed) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t client = fork();
  ASSERT_GE(client, 0);
  if (client == 0) {
    close(ready[0]);
    RawConnection child_connection(daemon_.socket_path());
    Arena child_arena;
    if (!GreetWithArena(child_connection, child_arena)) _exit(1);
    child_arena.Write(0, Pattern(1 << 20, 'f'));
    child_connection.Send(SubmitFromArena(1, "echo_when_cancelled", 0, 1 << 20, 1 << 20));
    const char byte = 1;
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  ASSERT_TRUE(daemon_.WaitForLog("polling cancelled()"));
  ASSERT_TRUE(WaitFor([&] { return ArenaMappingsInWorkers(daemon_.pid()) > 0; }));
  EXPECT_EQ(ArenaDescriptors(daemon_.pid()), 1u);
  ASSERT_EQ(kill(client, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(client, &status, 0), client);

  EXPECT_TRUE(daemon_.WaitForLog("saw cancelled(), stopping early"));
  EXPECT_TRUE(WaitFor([&] { return ArenaDescriptors(daemon_.pid()) == 0; }))
      << "the supervisor still holds the dead client's arena";
  EXPECT_TRUE(WaitFor([&] { return ArenaMappingsInWorkers(daemon_.pid()) == 0; }))
      << "a worker still maps the dead client's arena";
  std::unique_ptr<Client> after = ConnectTo(daemon_.socket_path());
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->call("echo", "still serving").output, "still serving");
}

// The client library: large payloads go through its arena (the daemon
// holds it while connected), and those that find it full go over the
// socket, with the same results.
TEST_F(PayloadArena, TheLibraryUsesItsArenaAndTheSocketWhenTheArenaIsFull) {
  ClientOptions options;
  options.payload_arena_bytes = 256 * 1024;  // one 100 KiB input and its room at a time
  std::unique_ptr<Client> client = ConnectTo(daemon_.socket_path(), options);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(ArenaDescriptors(daemon_.pid(), kLibraryArena), 1u);
  std::vector<std::string> inputs;
  for (char seed = 'a'; seed < 'a' + 20; ++seed) inputs.push_back(Pattern(100 * 1024, seed));
  const std::vector<TaskResult> results = client->map("echo", inputs, 1);
  ASSERT_EQ(results.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_TRUE(results[i].output == inputs[i]) << "item " << i;
  }
  const TaskResult call = client->call("echo", inputs[0]);
  EXPECT_TRUE(call.output == inputs[0]);
  client.reset();
  EXPECT_TRUE(WaitFor([&] {
    return ArenaDescriptors(daemon_.pid(), kLibraryArena) == 0;
  })) << "the daemon kept a closed connection's arena";
}

}  // namespace
}  // namespace taskpool::testing
