#include "tests/client/fake_daemon.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "wire/framing.h"
#include "taskpool/v1/taskpool.pb.h"
#include "wire/worker_state.h"

namespace taskpool::testing {

struct FakeDaemon::Session {
  explicit Session(int socket_fd) : fd(socket_fd) {}

  // Best effort: a client that went away is not the fake daemon's problem.
  void Send(const v1::ServerMessage& message) {
    std::string frame;
    wire::AppendFrame(message, &frame);
    std::lock_guard lock(write_mutex);
    size_t sent = 0;
    while (sent < frame.size()) {
      const ssize_t n =
          ::send(fd.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  void Shutdown() { ::shutdown(fd.get(), SHUT_RDWR); }

  // Sends the results of every held "barrier" task.
  void ReleaseHeld();

  const base::UniqueFd fd;
  std::mutex write_mutex;
  std::atomic<size_t> in_flight{0};
  // "barrier" tasks not yet answered, and a wake-up for their watchdog.
  std::mutex held_mutex;
  std::condition_variable released;
  std::vector<v1::Submit> held;
  bool barrier_broken = false;  // the watchdog fired: answer at once from now on
};

namespace {

constexpr uint64_t kMaxPayloadBytes = 1 << 20;

// "fail" fails with its payload as the message; anything else echoes.
template <typename Outcome>
void RunFunction(const std::string& function, const std::string& payload, Outcome* out) {
  if (function == "fail") {
    out->set_code(v1::TASK_FAILED);
    out->set_error(payload);
  } else {
    out->set_output(payload);
  }
}

v1::ServerMessage ResultFor(const v1::Submit& task) {
  v1::ServerMessage message;
  v1::Result* result = message.mutable_result();
  result->set_id(task.id());
  result->set_worker_pid(4242);
  result->set_attempts(1);
  result->set_queue_us(1500);
  result->set_run_us(2500);
  if (!task.chunk()) {
    RunFunction(task.function(), task.payload(), result);
    return message;
  }
  // A chunk, as a worker runs it: every item, one outcome each.
  v1::ChunkPayload items;
  if (!items.ParseFromString(task.payload())) {
    result->set_code(v1::INVALID_ARGUMENT);
    result->set_error("not a ChunkPayload");
    return message;
  }
  v1::ChunkOutput output;
  for (const std::string& item : items.items()) {
    RunFunction(task.function(), item, output.add_items());
  }
  result->set_output(output.SerializeAsString());
  return message;
}

// How long "barrier" tasks wait for their count before they are answered
// anyway, so a client that never sends enough fails its test instead of
// hanging it.
constexpr std::chrono::seconds kBarrierWatchdog{20};

v1::ServerMessage ErrorMessage(v1::ErrorCode code, const std::string& text) {
  v1::ServerMessage message;
  message.mutable_error()->set_code(code);
  message.mutable_error()->set_message(text);
  return message;
}

}  // namespace

void FakeDaemon::Session::ReleaseHeld() {
  std::vector<v1::Submit> tasks;
  {
    std::lock_guard lock(held_mutex);
    tasks.swap(held);
  }
  released.notify_all();
  for (const v1::Submit& task : tasks) {
    --in_flight;
    Send(ResultFor(task));
  }
}

std::string UniqueSocketPath() {
  static std::atomic<int> counter{0};
  return "/tmp/taskpool-client-test-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + ".sock";
}

std::unique_ptr<Client> ConnectTo(const FakeDaemon& daemon, ClientOptions options) {
  options.socket_path = daemon.path();
  Result<std::unique_ptr<Client>> client = Client::Connect(options);
  if (!client.ok()) {
    ADD_FAILURE() << "connect: " << client.status().ToString();
    return nullptr;
  }
  return std::move(client).value();
}

FakeDaemon::FakeDaemon(Options options)
    : options_(options), path_(UniqueSocketPath()) {
  listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  ::unlink(path_.c_str());
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) != 0 ||
      ::listen(listen_fd_.get(), 64) != 0) {
    throw std::runtime_error("fake daemon cannot listen on " + path_);
  }
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FakeDaemon::~FakeDaemon() {
  ::shutdown(listen_fd_.get(), SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  listen_fd_.reset();
  CloseConnections();
  for (;;) {
    std::thread thread;
    {
      std::lock_guard lock(mutex_);
      if (threads_.empty()) break;
      thread = std::move(threads_.back());
      threads_.pop_back();
    }
    thread.join();
  }
  ::unlink(path_.c_str());
}

void FakeDaemon::CloseConnections() {
  std::lock_guard lock(mutex_);
  for (const auto& session : sessions_) session->Shutdown();
  resumed_ = true;  // a stopped reader must see the shutdown
  reading_changed_.notify_all();
}

bool FakeDaemon::WaitUntilReadingStopped(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  return reading_changed_.wait_for(lock, wait, [this] { return reading_stopped_; });
}

void FakeDaemon::ResumeReading() {
  std::lock_guard lock(mutex_);
  resumed_ = true;
  reading_changed_.notify_all();
}

size_t FakeDaemon::held() {
  std::lock_guard lock(mutex_);
  return held_.size();
}

void FakeDaemon::ReleaseHeld() {
  std::vector<std::pair<std::shared_ptr<Session>, v1::Submit>> held;
  {
    std::lock_guard lock(mutex_);
    held.swap(held_);
  }
  for (const auto& [session, task] : held) {
    --session->in_flight;
    session->Send(ResultFor(task));
  }
}

void FakeDaemon::AcceptLoop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    auto session = std::make_shared<Session>(fd);
    std::lock_guard lock(mutex_);
    sessions_.push_back(session);
    threads_.emplace_back([this, session] { Serve(session); });
  }
}

void FakeDaemon::Serve(std::shared_ptr<Session> session) {
  // As the real daemon: frames up to the payload limit plus a little.
  wire::FrameDecoder decoder(kMaxPayloadBytes + 64 * 1024);
  v1::ClientMessage message;
  char buffer[64 * 1024];
  for (;;) {
    if (options_.stop_reading_after != 0 &&
        tasks_received_ >= options_.stop_reading_after) {
      // As taskpoold with a full queue: the client's writes back up.
      std::unique_lock lock(mutex_);
      reading_stopped_ = true;
      reading_changed_.notify_all();
      reading_changed_.wait(lock, [this] { return resumed_; });
    }
    const ssize_t n = ::read(session->fd.get(), buffer, sizeof(buffer));
    if (n <= 0) return;
    decoder.Append(std::string_view(buffer, static_cast<size_t>(n)));
    Status error;
    wire::FrameDecoder::Outcome outcome;
    while ((outcome = decoder.NextMessage(&message, &error)) ==
           wire::FrameDecoder::Outcome::kFrame) {
      if (!Handle(session, message)) {
        session->Shutdown();
        return;
      }
    }
    if (outcome == wire::FrameDecoder::Outcome::kError) {
      session->Send(ErrorMessage(v1::FRAME_TOO_LARGE, error.ToString()));
      session->Shutdown();
      return;
    }
  }
}

bool FakeDaemon::Handle(const std::shared_ptr<Session>& session,
                        const v1::ClientMessage& message) {
  v1::ServerMessage reply;
  switch (message.kind_case()) {
    case v1::ClientMessage::kHello:
      if (!options_.answer_hello) return true;
      if (options_.reject_version) {
        session->Send(ErrorMessage(
            v1::VERSION_MISMATCH,
            "client speaks protocol version 1, taskpoold speaks version 2"));
        return false;
      }
      reply.mutable_hello()->set_protocol_version(1);
      reply.mutable_hello()->set_server_version("fake-0.1");
      reply.mutable_hello()->set_max_payload_bytes(kMaxPayloadBytes);
      reply.mutable_hello()->set_workers(options_.workers);
      reply.mutable_hello()->set_queue_capacity(64);
      reply.mutable_hello()->set_max_in_flight_per_connection(
          options_.max_in_flight);
      session->Send(reply);
      return true;
    case v1::ClientMessage::kSubmit:
      return HandleTasks(session, {message.submit()});
    case v1::ClientMessage::kSubmitBatch:
      return HandleTasks(session, {message.submit_batch().tasks().begin(),
                                   message.submit_batch().tasks().end()});
    case v1::ClientMessage::kStatus: {
      v1::StatusReply* status = reply.mutable_status();
      for (uint32_t i = 0; i < options_.workers; ++i) {
        v1::WorkerStatus* worker = status->add_workers();
        worker->set_index(i);
        worker->set_pid(static_cast<int>(5000 + i));
        wire::SetWorkerState(v1::WORKER_STATE_IDLE, worker);
      }
      status->set_queue_capacity(64);
      status->set_daemon_pid(4999);
      for (const char* name : {"crash", "delay", "echo", "error", "fail", "never"}) {
        status->add_registered_functions()->set_name(name);
      }
      v1::RegisteredFunction* plugin = status->add_registered_functions();
      plugin->set_name("shout");
      plugin->set_plugin("/fake/libshout.so");
      session->Send(reply);
      return true;
    }
    case v1::ClientMessage::kPing:
      reply.mutable_pong()->set_nonce(message.ping().nonce());
      session->Send(reply);
      return true;
    case v1::ClientMessage::kCancel: {
      std::optional<v1::Submit> cancelled;
      {
        std::lock_guard lock(mutex_);
        auto held = std::find_if(held_.begin(), held_.end(), [&](const auto& entry) {
          return entry.first == session && entry.second.id() == message.cancel().id();
        });
        if (held == held_.end()) return true;  // finished, or not a held task
        cancelled = held->second;
        held_.erase(held);
      }
      --session->in_flight;
      reply.mutable_result()->set_id(cancelled->id());
      reply.mutable_result()->set_code(v1::CANCELLED);
      reply.mutable_result()->set_error("cancelled");
      session->Send(reply);
      return true;
    }
    default:
      return true;
  }
}

bool FakeDaemon::HandleTasks(const std::shared_ptr<Session>& session,
                             const std::vector<v1::Submit>& tasks) {
  tasks_received_ += tasks.size();
  const size_t in_flight = session->in_flight += tasks.size();
  size_t seen = max_in_flight_seen_;
  while (in_flight > seen &&
         !max_in_flight_seen_.compare_exchange_weak(seen, in_flight)) {
  }

  v1::ServerMessage batch;
  for (auto task = tasks.rbegin(); task != tasks.rend(); ++task) {
    const std::string& function = task->function();
    if (function == "crash") return false;
    if (function == "error") {
      session->Send(ErrorMessage(v1::PROTOCOL_VIOLATION, "fake error"));
      return false;
    }
    if (function == "never") continue;
    if (function == "barrier") {
      HoldForBarrier(session, *task);
      continue;
    }
    if (function == "hold") {
      std::lock_guard lock(mutex_);
      held_.emplace_back(session, *task);
      continue;
    }
    if (function == "delay") {
      std::lock_guard lock(mutex_);
      threads_.emplace_back([session, task = *task] {
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::stoi(task.payload())));
        --session->in_flight;
        session->Send(ResultFor(task));
      });
      continue;
    }
    *batch.mutable_result_batch()->add_results() = ResultFor(*task).result();
  }
  const int answered = batch.result_batch().results_size();
  session->in_flight -= answered;
  if (answered == 1) {
    v1::ServerMessage single;
    *single.mutable_result() = batch.result_batch().results(0);
    session->Send(single);
  } else if (answered > 1) {
    session->Send(batch);
  }
  return true;
}

void FakeDaemon::HoldForBarrier(const std::shared_ptr<Session>& session,
                                const v1::Submit& task) {
  size_t count = 0;
  bool first = false;
  {
    std::lock_guard lock(session->held_mutex);
    first = session->held.empty();
    session->held.push_back(task);
    count = session->held.size();
    if (session->barrier_broken) count = SIZE_MAX;
  }
  if (count >= std::stoul(task.payload())) {
    session->ReleaseHeld();
    return;
  }
  if (!first) return;
  std::lock_guard lock(mutex_);
  threads_.emplace_back([session] {
    std::unique_lock held_lock(session->held_mutex);
    if (!session->released.wait_for(held_lock, kBarrierWatchdog,
                                    [&] { return session->held.empty(); })) {
      session->barrier_broken = true;
      held_lock.unlock();
      session->ReleaseHeld();
    }
  });
}

}  // namespace taskpool::testing
