// A program running on the slave side of a pseudo-terminal, as a person
// runs it (TERM=xterm, 40x160): for `taskpool top` and map's progress line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace taskpool::testing {

class TerminalProcess {
 public:
  // Starts `argv` (argv[0] a path) with stdin, stdout and stderr on the
  // terminal; if `stdout_file` is given, stdout goes to that file instead.
  // `extra_env` entries ("NAME=VALUE") replace the environment's.
  explicit TerminalProcess(const std::vector<std::string>& argv,
                           const std::string& stdout_file = "",
                           const std::vector<std::string>& extra_env = {});
  // Kills the program (SIGKILL) if it is still running.
  ~TerminalProcess();

  TerminalProcess(const TerminalProcess&) = delete;
  TerminalProcess& operator=(const TerminalProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // Everything the program wrote to the terminal so far.
  const std::string& screen() const { return output_; }

  // Reads the terminal until `needle` shows up, or the program exits, or
  // `timeout` passes; true if the needle was seen.
  bool ReadUntil(const std::string& needle,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

  // Types `keys` on the terminal.
  void Type(const std::string& keys);

  // Reads the rest of the output, then returns the exit status (128 + N
  // for signal N; -1 if the program did not exit within 20 s).
  int Wait();

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
};

}  // namespace taskpool::testing
