// Starts the real taskpoold binary on a private socket for one test and
// stops it afterwards, and runs the real taskpool CLI against it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "taskpool/client.hpp"

namespace taskpool::testing {

// A fresh directory /tmp/PREFIX-XXXXXX, removed with everything in it when
// destroyed. Aborts the test if it cannot be made.
class TempDirectory {
 public:
  explicit TempDirectory(const std::string& prefix = "taskpool-test");
  ~TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A taskpoold child process on a socket in a fresh temporary directory.
class DaemonProcess {
 public:
  // Starts `taskpoold --socket DIR/taskpoold.sock --workers N extra...` and
  // waits until it answers a ping. `workers` < 0 leaves --workers out (for
  // a config file to set). Aborts the test (ADD_FAILURE + throws)
  // if it does not come up within 10 s.
  //
  // `extra_env` ("NAME=VALUE") is added to the daemon's environment.
  // `wrapper`, if not empty, is a command that execs taskpoold (e.g.
  // systemd-socket-activate -l @SOCKET@), so pid() is still the daemon's.
  // In both, "@SOCKET@" and "@DIR@" stand for socket_path() and directory().
  explicit DaemonProcess(int workers = 2, std::vector<std::string> extra_args = {},
                         std::vector<std::string> extra_env = {},
                         std::vector<std::string> wrapper = {});
  // Kills the daemon if still running and removes the directory.
  ~DaemonProcess();

  const std::string& socket_path() const { return socket_path_; }
  const std::string& directory() const { return directory_.path(); }
  pid_t pid() const { return pid_; }
  // The daemon's stderr so far.
  std::string log() const;
  // Waits up to 30 s for `text` to appear in the log; false (with a test
  // failure showing the log) if it does not.
  bool WaitForLog(const std::string& text) const;

  // Sends `signal_number` and waits up to `timeout` for the exit; returns
  // the wait status, or -1 on timeout (the process is then SIGKILLed).
  int StopWith(int signal_number,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running() const { return pid_ > 0; }

 private:
  TempDirectory directory_;  // first in, last out: outlives the process
  std::string socket_path_;
  std::string log_path_;
  pid_t pid_ = -1;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A Client connected to `socket`; records a test failure (and returns
// nullptr) if it cannot connect.
std::unique_ptr<Client> ConnectTo(const std::string& socket);
// The same with `options` (their socket_path is `socket`).
std::unique_ptr<Client> ConnectTo(const std::string& socket, ClientOptions options);

// Options for a client whose large payloads go through the socket and the
// queue's blobs rather than a payload arena: for tests of the blobs.
inline ClientOptions WithoutPayloadArena() {
  ClientOptions options;
  options.payload_arena_bytes = 0;
  return options;
}

// The pid of a worker `client`'s daemon reports busy, once one is (0, with
// a test failure, if none is within 30 s): for a test that must know a task
// is running, not merely submitted, before it acts.
pid_t WaitForBusyWorker(Client& client);

// The whole file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

// Runs `argv` (argv[0] a path) to completion, feeding `stdin_text`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& stdin_text = "");

// Starts `argv` without waiting; its output goes to /dev/null.
pid_t SpawnCommand(const std::vector<std::string>& argv);

// Runs the taskpool CLI with `args` (after `--socket SOCKET` when
// `socket` is not empty).
CommandResult RunCli(const std::string& socket, const std::vector<std::string>& args,
                     const std::string& stdin_text = "");

// Children of `pid` (from /proc), for checking that workers are ours.
std::vector<pid_t> ChildrenOf(pid_t pid);

// True if `pid` exists and is not a zombie (an orphaned worker that died
// may linger as a zombie where nothing reaps orphans).
bool ProcessIsAlive(pid_t pid);

// VmRSS of `pid` in KiB (VmHWM, its peak, with `peak`); -1 if it cannot
// be read.
long ResidentKib(pid_t pid, bool peak = false);

// How many descriptors `pid` has open (/proc/PID/fd); 0 if unreadable.
size_t OpenDescriptors(pid_t pid);

// The name in /dev/shm of the instance mark daemon `pid` holds open (the
// prefix of its blobs' names), or "" if it holds none.
std::string ShmMarkOf(pid_t pid);

// True while /dev/shm holds an object whose name starts with `prefix`.
bool SharedMemoryExists(const std::string& prefix);

// How many times `what` occurs in `text` (e.g. a line kind in a log).
inline size_t CountOccurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// Polls `done` every 10 ms until it is true (returns true) or `bound`
// has passed (returns false): for waiting on an event with a generous
// bound, never for sleeping and hoping.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::seconds bound = std::chrono::seconds(30)) {
  const auto give_up = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// True in the AddressSanitizer build (GCC says so with
// __SANITIZE_ADDRESS__, clang with __has_feature). Its allocator holds
// freed memory in quarantine, so a process's resident size says nothing
// about leaks there, and its shadow memory counts against RLIMIT_DATA.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

inline const char* DaemonBinary() { return TASKPOOLD_PATH; }
inline const char* CliBinary() { return TASKPOOL_CLI_PATH; }

}  // namespace taskpool::testing
