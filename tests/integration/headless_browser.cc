#include "tests/integration/headless_browser.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "tests/integration/daemon_fixture.h"

extern char** environ;

namespace taskpool::testing {

namespace {

using Clock = std::chrono::steady_clock;

Status Failed(const std::string& what) { return Status(ErrorCode::kInternal, what); }

std::string Base64Decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const size_t value = kAlphabet.find(c);
    if (value == std::string::npos) continue;  // '=' padding
    bits = (bits << 6) | static_cast<uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// The flags that keep Chromium to the pages it is sent to: without the
// background-networking ones it dials out at start (updates, sync, field
// trials, QUIC probes), which this machine refuses.
std::vector<std::string> BrowserArguments(const std::string& binary, const std::string& directory,
                                          int width, int height) {
  return {binary,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--no-default-browser-check",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-breakpad",
          "--disable-crash-reporter",
          "--user-data-dir=" + directory + "/profile",
          "--crash-dumps-dir=" + directory,
          "--window-size=" + std::to_string(width) + "," + std::to_string(height),
          "--remote-debugging-pipe",
          "about:blank"};
}

}  // namespace

Result<std::unique_ptr<HeadlessBrowser>> HeadlessBrowser::Start(const std::string& binary,
                                                                const std::string& directory,
                                                                int width, int height) {
  // A browser that died makes our next write fail with EPIPE: an error to
  // report, not a signal that ends the test binary.
  signal(SIGPIPE, SIG_IGN);
  if (binary.empty() || access(binary.c_str(), X_OK) != 0) {
    return Failed("no Chromium at '" + binary +
                  "'; install Debian's chromium (scripts/install-deps.sh) and re-run cmake");
  }
  Result<std::unique_ptr<HeadlessBrowser>> first = Launch(binary, directory, width, height);
  if (first.ok()) return first;
  // Once in a CI run, Chromium said nothing at all for a minute on an
  // idle machine and never again in reruns: a second start, in a profile
  // of its own (the first may still hold its lock), tells that apart from
  // a browser that cannot start here.
  const std::string again = directory + "/second-start";
  std::filesystem::create_directories(again);
  Result<std::unique_ptr<HeadlessBrowser>> second = Launch(binary, again, width, height);
  if (second.ok()) return second;
  return Failed("twice: " + first.status().message() + "\nand then: " + second.status().message());
}

Result<std::unique_ptr<HeadlessBrowser>> HeadlessBrowser::Launch(const std::string& binary,
                                                                 const std::string& directory,
                                                                 int width, int height) {
  int to_browser[2];
  int from_browser[2];
  if (pipe2(to_browser, O_CLOEXEC) != 0) return Failed(std::string("pipe: ") + strerror(errno));
  if (pipe2(from_browser, O_CLOEXEC) != 0) {
    close(to_browser[0]);
    close(to_browser[1]);
    return Failed(std::string("pipe: ") + strerror(errno));
  }
  // Its ends move to fds 3 and 4 in the child; copies above 10 first, so
  // neither dup2 can overwrite the other's source.
  const int child_reads = fcntl(to_browser[0], F_DUPFD_CLOEXEC, 10);
  const int child_writes = fcntl(from_browser[1], F_DUPFD_CLOEXEC, 10);
  const int dup_errno = errno;
  close(to_browser[0]);
  close(from_browser[1]);
  if (child_reads < 0 || child_writes < 0) {
    for (const int fd : {child_reads, child_writes, to_browser[1], from_browser[0]}) {
      if (fd >= 0) close(fd);
    }
    return Failed(std::string("fcntl(F_DUPFD_CLOEXEC): ") + strerror(dup_errno));
  }

  const std::string log_path = directory + "/chromium.log";
  const std::vector<std::string> args = BrowserArguments(binary, directory, width, height);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_reads, 3);
  posix_spawn_file_actions_adddup2(&actions, child_writes, 4);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // Its own process group, so the renderers it forks can be stopped by the
  // group's id (its pid) if it does not take them down itself.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(child_reads);
  close(child_writes);
  if (error != 0) {
    close(to_browser[1]);
    close(from_browser[0]);
    return Failed("cannot start " + binary + ": " + strerror(error));
  }
  std::unique_ptr<HeadlessBrowser> browser(
      new HeadlessBrowser(pid, to_browser[1], from_browser[0], log_path));
  // Its first answer says it is up; a loaded machine may take a while.
  Result<nlohmann::json> version =
      browser->Call("Browser.getVersion", nlohmann::json::object(), false, std::chrono::seconds(60));
  if (!version.ok()) {
    return Failed("Chromium did not answer: " + version.status().message() + "\n" + browser->log());
  }
  return browser;
}

HeadlessBrowser::HeadlessBrowser(pid_t pid, int commands, int replies, std::string log_path)
    : pid_(pid), commands_(commands), replies_(replies), log_path_(std::move(log_path)) {}

HeadlessBrowser::~HeadlessBrowser() { Stop(); }

void HeadlessBrowser::Stop() {
  if (pid_ <= 0) return;
  // A clean close takes the renderers down with the browser.
  (void)Call("Browser.close", nlohmann::json::object(), false, std::chrono::seconds(10));
  close(commands_);
  close(replies_);
  const auto give_up = Clock::now() + std::chrono::seconds(10);
  siginfo_t info{};
  // Wait for the exit without reaping, so the group's id cannot be reused
  // before the sweep below.
  while (Clock::now() < give_up) {
    info.si_pid = 0;
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid == pid_) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid_, SIGKILL);  // whatever is left of its group, the browser too if it hung
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string HeadlessBrowser::log() const { return ReadFile(log_path_); }

Result<nlohmann::json> HeadlessBrowser::Receive(Clock::time_point deadline) {
  for (;;) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      const std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      nlohmann::json parsed = nlohmann::json::parse(message, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) return Failed("Chromium sent something that is not JSON");
      return parsed;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Status(ErrorCode::kWaitTimeout, "no answer from Chromium in time");
    pollfd readable{.fd = replies_, .events = POLLIN, .revents = 0};
    const int ready = poll(&readable, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) return Failed(std::string("poll: ") + strerror(errno));
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t got = read(replies_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Status(ErrorCode::kConnectionLost, "Chromium closed its pipe (exited?)");
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

void HeadlessBrowser::Record(const nlohmann::json& event) {
  const std::string method = event.value("method", "");
  events_.push_back(method);
  const nlohmann::json params = event.value("params", nlohmann::json::object());
  const auto text = [&](const char* pointer) {
    return params.value(nlohmann::json::json_pointer(pointer), std::string());
  };
  if (method == "Network.requestWillBeSent") {
    requested_urls_.push_back(text("/request/url"));
  } else if (method == "Runtime.exceptionThrown") {
    page_errors_.push_back(text("/exceptionDetails/text") + " " +
                           text("/exceptionDetails/exception/description"));
  } else if (method == "Log.entryAdded" && text("/entry/level") == "error") {
    page_errors_.push_back(text("/entry/text") + " (" + text("/entry/url") + ")");
  } else if (method == "Runtime.consoleAPICalled" && text("/type") == "error") {
    page_errors_.push_back("console.error: " + params.value("args", nlohmann::json()).dump());
  }
}

Result<nlohmann::json> HeadlessBrowser::Call(const std::string& method, nlohmann::json params,
                                             bool to_page, std::chrono::milliseconds wait) {
  const int id = next_id_++;
  nlohmann::json command = {{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (to_page) command["sessionId"] = session_id_;
  const std::string bytes = command.dump() + '\0';
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t wrote = write(commands_, bytes.data() + sent, bytes.size() - sent);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return Failed("cannot send " + method + " to Chromium: " + strerror(errno));
    sent += static_cast<size_t>(wrote);
  }
  const auto deadline = Clock::now() + wait;
  for (;;) {
    Result<nlohmann::json> message = Receive(deadline);
    if (!message.ok()) return Status(message.status().code(), method + ": " + message.status().message());
    if (!message->contains("id")) {
      Record(*message);
      continue;
    }
    if ((*message)["id"] != id) continue;  // a reply to a command we gave up on
    if (message->contains("error")) return Failed(method + ": " + (*message)["error"].dump());
    return (*message)["result"];
  }
}

Status HeadlessBrowser::WaitForEvent(const std::string& method, size_t since,
                                     std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    for (size_t i = since; i < events_.size(); ++i) {
      if (events_[i] == method) return Status::Ok();
    }
    since = events_.size();
    Result<nlohmann::json> message = Receive(deadline);
    if (!message.ok()) return Status(message.status().code(), "waiting for " + method + ": " + message.status().message());
    if (!message->contains("id")) Record(*message);
  }
}

Status HeadlessBrowser::Open(const std::string& url) {
  constexpr std::chrono::seconds kWait{30};
  Result<nlohmann::json> target =
      Call("Target.createTarget", {{"url", "about:blank"}}, false, kWait);
  if (!target.ok()) return target.status();
  Result<nlohmann::json> attached = Call(
      "Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}}, false, kWait);
  if (!attached.ok()) return attached.status();
  session_id_ = (*attached)["sessionId"].get<std::string>();
  for (const char* domain : {"Page.enable", "Network.enable", "Runtime.enable", "Log.enable"}) {
    if (Result<nlohmann::json> enabled = Call(domain, nlohmann::json::object(), true, kWait);
        !enabled.ok()) {
      return enabled.status();
    }
  }
  const size_t since = events_.size();
  Result<nlohmann::json> navigated = Call("Page.navigate", {{"url", url}}, true, kWait);
  if (!navigated.ok()) return navigated.status();
  if (navigated->contains("errorText")) {
    return Failed("cannot load " + url + ": " + (*navigated)["errorText"].get<std::string>());
  }
  return WaitForEvent("Page.loadEventFired", since, kWait);
}

Result<nlohmann::json> HeadlessBrowser::Evaluate(const std::string& expression,
                                                 std::chrono::milliseconds wait) {
  Result<nlohmann::json> evaluated =
      Call("Runtime.evaluate",
           {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}}, true,
           wait);
  if (!evaluated.ok()) return evaluated.status();
  if (evaluated->contains("exceptionDetails")) {
    return Failed("the page threw: " + (*evaluated)["exceptionDetails"].dump());
  }
  return (*evaluated)["result"].value("value", nlohmann::json());
}

Result<std::string> HeadlessBrowser::Screenshot() {
  constexpr std::chrono::seconds kWait{30};
  Result<nlohmann::json> metrics =
      Call("Page.getLayoutMetrics", nlohmann::json::object(), true, kWait);
  if (!metrics.ok()) return metrics.status();
  const nlohmann::json& size = (*metrics)["cssContentSize"];
  Result<nlohmann::json> shot = Call(
      "Page.captureScreenshot",
      {{"format", "png"},
       {"captureBeyondViewport", true},
       {"clip", {{"x", 0}, {"y", 0}, {"width", size["width"]}, {"height", size["height"]}, {"scale", 1}}}},
      true, kWait);
  if (!shot.ok()) return shot.status();
  return Base64Decode((*shot)["data"].get<std::string>());
}

}  // namespace taskpool::testing
