#include "tests/integration/daemon_fixture.h"

#include "shmq/instance_mark.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "taskpool/client.hpp"

extern char** environ;

namespace taskpool::testing {

namespace {

std::vector<char*> ToArgv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// Waits for `pid` up to `timeout`; returns the wait status or -1.
int WaitWithTimeout(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  // Bytes as they are (base::ReadTextFile would end every line, a
  // cmdline's too, in '\n'). operator<< on a streambuf catches a read
  // error, such as /proc's ESRCH for an exiting process, and just stops.
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TempDirectory::TempDirectory(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << ": " << std::strerror(errno);
    throw std::runtime_error("no temporary directory");
  }
  path_ = pattern;
}

TempDirectory::~TempDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::unique_ptr<Client> ConnectTo(const std::string& socket) {
  return ConnectTo(socket, ClientOptions());
}

std::unique_ptr<Client> ConnectTo(const std::string& socket, ClientOptions options) {
  options.socket_path = socket;
  auto client = Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client.value()) : nullptr;
}

pid_t WaitForBusyWorker(Client& client) {
  pid_t busy = 0;
  const bool found = WaitFor([&] {
    const Result<PoolStatus> status = client.status();
    if (!status.ok()) return false;
    for (const auto& worker : status->workers) {
      if (worker.state == WorkerState::kBusy) busy = worker.pid;
    }
    return busy != 0;
  });
  EXPECT_TRUE(found) << "no worker became busy within 30 s";
  return busy;
}

DaemonProcess::DaemonProcess(int workers, std::vector<std::string> extra_args,
                             std::vector<std::string> extra_env,
                             std::vector<std::string> wrapper) {
  socket_path_ = directory_.File("taskpoold.sock");
  log_path_ = directory_.File("taskpoold.log");

  auto expand = [this](std::string text) {
    for (const auto& [name, value] : {std::pair<std::string, std::string>{"@SOCKET@", socket_path_},
                                      {"@DIR@", directory_.path()}}) {
      for (size_t at; (at = text.find(name)) != std::string::npos;) {
        text.replace(at, name.size(), value);
      }
    }
    return text;
  };
  std::vector<std::string> args;
  for (const std::string& arg : wrapper) args.push_back(expand(arg));
  args.insert(args.end(), {DaemonBinary(), "--socket", socket_path_});
  if (workers >= 0) args.insert(args.end(), {"--workers", std::to_string(workers)});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv = ToArgv(args);
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) env_strings.push_back(*entry);
  for (const std::string& entry : extra_env) env_strings.push_back(expand(entry));
  std::vector<char*> envp = ToArgv(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(error);
    throw std::runtime_error("taskpoold did not start");
  }

  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    ClientOptions options;
    options.socket_path = socket_path_;
    auto client = Client::Connect(options);
    if (client.ok() && (*client)->ping().ok()) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "taskpoold exited at start: " << log();
      throw std::runtime_error("taskpoold exited at start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "taskpoold did not answer within 10 s: " << log();
  throw std::runtime_error("taskpoold did not come up");
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  // A daemon that was killed could not remove its mark and blobs; a later
  // start would (any start sweeps), but the suite's last test has none.
  shmq::InstanceMark::SweepDeadInstances();
}

std::string DaemonProcess::log() const { return ReadFile(log_path_); }

bool DaemonProcess::WaitForLog(const std::string& text) const {
  const bool found = WaitFor([&] { return log().find(text) != std::string::npos; });
  EXPECT_TRUE(found) << "the daemon never logged \"" << text << "\"; its log:\n" << log();
  return found;
}

int DaemonProcess::StopWith(int signal_number, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal_number);
  const int status = WaitWithTimeout(pid_, timeout);
  if (status == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  return status;
}

CommandResult RunCommand(const std::vector<std::string>& args,
                         const std::string& stdin_text) {
  const TempDirectory directory("taskpool-cmd");
  const std::string in_path = directory.File("in"), out_path = directory.File("out"),
                    err_path = directory.File("err");
  std::ofstream(in_path) << stdin_text;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv = ToArgv(args);
  pid_t pid = -1;
  CommandResult result;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    const int status = WaitWithTimeout(pid, std::chrono::seconds(60));
    if (status == -1) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    } else if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else {
      result.exit_code = 128 + WTERMSIG(status);
    }
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

pid_t SpawnCommand(const std::vector<std::string>& args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv = ToArgv(args);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

CommandResult RunCli(const std::string& socket, const std::vector<std::string>& args,
                     const std::string& stdin_text) {
  std::vector<std::string> argv = {CliBinary()};
  if (!socket.empty()) {
    argv.push_back("--socket");
    argv.push_back(socket);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, stdin_text);
}

std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> children;
  std::istringstream list(ReadFile("/proc/" + std::to_string(pid) + "/task/" +
                                   std::to_string(pid) + "/children"));
  pid_t child;
  while (list >> child) children.push_back(child);
  return children;
}

bool ProcessIsAlive(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // "pid (comm) S ...": the state follows the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  const char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

long ResidentKib(pid_t pid, bool peak) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  const std::string key = peak ? "VmHWM:" : "VmRSS:";
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(key)) return std::stol(line.substr(key.size()));
  }
  return -1;
}

size_t OpenDescriptors(pid_t pid) {
  size_t count = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++count;
  }
  return count;
}

std::string ShmMarkOf(pid_t pid) {
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(fds, ignored)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), ignored).string();
    constexpr std::string_view kMark = "/dev/shm/taskpool-";
    if (target.starts_with(kMark) && target.size() == kMark.size() + 32) {
      return target.substr(std::string_view("/dev/shm/").size());
    }
  }
  return "";
}

bool SharedMemoryExists(const std::string& prefix) {
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    if (entry.path().filename().string().starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace taskpool::testing
