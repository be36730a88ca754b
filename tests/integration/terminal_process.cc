#include "tests/integration/terminal_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

extern char** environ;

namespace taskpool::testing {

using std::chrono::milliseconds;

namespace {

std::string NameOf(const std::string& entry) { return entry.substr(0, entry.find('=') + 1); }

}  // namespace

TerminalProcess::TerminalProcess(const std::vector<std::string>& argv_in,
                                 const std::string& stdout_file,
                                 const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv_strings = argv_in;
  std::vector<std::string> env_strings = extra_env;
  const bool term_given = std::any_of(extra_env.begin(), extra_env.end(), [](const std::string& e) {
    return e.starts_with("TERM=");
  });
  if (!term_given) env_strings.push_back("TERM=xterm");
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string name = NameOf(*entry);
    bool replaced = false;
    for (const std::string& ours : env_strings) replaced = replaced || NameOf(ours) == name;
    if (!replaced) env_strings.push_back(*entry);
  }
  // Built before the fork: the child only opens, dups and execs.
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const char* out_path = stdout_file.empty() ? nullptr : stdout_file.c_str();
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 160;
  pid_ = forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ == 0) {
    if (out_path != nullptr) {
      const int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(126);
      close(fd);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
}

TerminalProcess::~TerminalProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) close(master_);
}

bool TerminalProcess::ReadUntil(const std::string& needle, milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (output_.find(needle) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{master_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t got = read(master_, buffer, sizeof buffer);
    if (got <= 0) return output_.find(needle) != std::string::npos;  // EIO: it exited
    output_.append(buffer, static_cast<size_t>(got));
  }
  return true;
}

void TerminalProcess::Type(const std::string& keys) {
  ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
}

int TerminalProcess::Wait() {
  ReadUntil("\x01never\x01");  // drains until EOF (or the timeout)
  for (int i = 0; i < 2000; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10'000);
  }
  return -1;
}

}  // namespace taskpool::testing
