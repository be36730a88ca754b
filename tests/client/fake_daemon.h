// A stand-in for taskpoold that speaks the wire protocol on a temporary
// socket, so the client library can be tested without the real daemon, and
// with failures the real one would rarely produce on cue.
//
// Task functions it understands:
//   echo    output = payload
//   fail    TASK_FAILED, error = payload
//   delay   answered after `payload` milliseconds, output = payload
//   never   never answered
//   barrier held until `payload` (a count) barrier tasks of the connection
//           are held, then all answered (echo); after 20 s answered anyway,
//           and from then on at once
//   hold    answered (output = payload) when ReleaseHeld() is called, or
//           CANCELLED when the client cancels it first
//   crash   the daemon closes the connection on receipt
//   error   the daemon sends Error PROTOCOL_VIOLATION, then closes
// Its status lists those functions as built-ins and "shout" as a function
// of the plugin /fake/libshout.so.
// It announces a payload limit of 1 MiB and, like taskpoold, closes the
// connection with FRAME_TOO_LARGE on a frame much larger than that.
// Results of a SubmitBatch of echo/fail tasks come back as one ResultBatch
// in reverse order, to exercise out-of-order completion.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "taskpool/client.hpp"
#include "taskpool/v1/taskpool.pb.h"

namespace taskpool::testing {

class FakeDaemon {
 public:
  struct Options {
    bool answer_hello = true;
    bool reject_version = false;  // answer hello with VERSION_MISMATCH
    uint32_t workers = 2;
    uint32_t max_in_flight = 0;  // announced in the hello reply
    // Stop reading a connection once this many tasks have arrived, as
    // taskpoold does with a full queue, until ResumeReading() (0: never).
    size_t stop_reading_after = 0;
  };

  explicit FakeDaemon(Options options);
  FakeDaemon() : FakeDaemon(Options{}) {}
  ~FakeDaemon();

  const std::string& path() const { return path_; }

  // Breaks every client connection now, as a dying daemon would.
  void CloseConnections();

  // Waits up to `wait` until a connection has stopped reading
  // (Options::stop_reading_after); false if none did.
  bool WaitUntilReadingStopped(std::chrono::milliseconds wait);
  // Lets every connection read again, for good.
  void ResumeReading();
  // Answers every "hold" task received so far.
  void ReleaseHeld();
  // How many "hold" tasks wait for ReleaseHeld().
  size_t held();

  // The most tasks that were ever unanswered at once on one connection.
  size_t max_in_flight_seen() const { return max_in_flight_seen_; }
  size_t tasks_received() const { return tasks_received_; }

  struct Session;

 private:
  void AcceptLoop();
  void Serve(std::shared_ptr<Session> session);
  // False: close the connection.
  bool Handle(const std::shared_ptr<Session>& session,
              const v1::ClientMessage& message);
  bool HandleTasks(const std::shared_ptr<Session>& session,
                   const std::vector<v1::Submit>& tasks);
  void HoldForBarrier(const std::shared_ptr<Session>& session, const v1::Submit& task);

  const Options options_;
  const std::string path_;
  base::UniqueFd listen_fd_;

  std::mutex mutex_;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::vector<std::thread> threads_;  // sessions and delayed answers

  std::atomic<size_t> max_in_flight_seen_{0};
  std::atomic<size_t> tasks_received_{0};
  // Guarded by mutex_.
  std::condition_variable reading_changed_;
  bool reading_stopped_ = false;
  bool resumed_ = false;
  std::vector<std::pair<std::shared_ptr<Session>, v1::Submit>> held_;
  std::thread acceptor_;
};

// A socket path under /tmp that no other test uses.
std::string UniqueSocketPath();

// A Client connected to `daemon` with `options` (their socket_path
// replaced); null (and a test failure) if it cannot be.
std::unique_ptr<Client> ConnectTo(const FakeDaemon& daemon, ClientOptions options = {});

// How long a test waits for an event before it calls it hung: generous,
// so that a failure means "never", not "slow".
inline constexpr std::chrono::seconds kPrompt{10};

// Polls `condition`, state another thread changes, for up to kPrompt: for
// the few events no callback announces. False if it never held.
template <typename Condition>
bool Eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + kPrompt;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A default fake daemon and a Client connected to it.
class FakeDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = ConnectTo(daemon_);
    ASSERT_NE(client_, nullptr);
  }

  FakeDaemon daemon_;
  std::unique_ptr<Client> client_;
};

}  // namespace taskpool::testing
