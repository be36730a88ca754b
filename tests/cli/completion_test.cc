// `taskpool completion bash|zsh|fish`, loaded into the real shells:
// commands, options and their values, and function names from a (fake)
// daemon. The shells come from scripts/install-deps.sh (bash, fish, zsh).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "tests/client/fake_daemon.h"

namespace taskpool {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Directory(const std::string& path) { return path.substr(0, path.rfind('/')); }

// The shell's output for `script`, with the taskpool binary first on PATH
// (the scripts run `taskpool functions --names`). Fails the test, rather
// than skip it, when the shell is missing.
std::string RunShell(const std::string& shell, const std::string& script) {
  const std::string quoted = "'" + script + "'";
  const std::string command = "PATH=" + Directory(TASKPOOL_CLI_PATH) + ":$PATH " + shell +
                              " -c " + quoted + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "(popen failed)";
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << shell << " failed (is it installed? scripts/install-deps.sh installs it):\n" << out;
  return out;
}

// COMPREPLY of bash's _taskpool for the words `words`, the last one being
// completed, one per line.
std::string BashCompletes(const std::string& words) {
  return RunShell("bash", "source <(taskpool completion bash); COMP_WORDS=(" + words +
                              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _taskpool; "
                              "printf \"%s\\n\" \"${COMPREPLY[@]}\"");
}

// What fish's `complete -C LINE` offers, names only.
std::string FishCompletes(const std::string& line) {
  return RunShell("fish", "taskpool completion fish | source; complete -C \"" + line +
                              "\" | cut -f1");
}

TEST(BashCompletionTest, CompletesCommandsOptionsAndValues) {
  EXPECT_EQ(BashCompletes("taskpool ma"), "map\n");
  EXPECT_EQ(BashCompletes("taskpool map --chunk"), "--chunksize\n");
  EXPECT_EQ(BashCompletes("taskpool map --progress al"), "always\n");
  EXPECT_EQ(BashCompletes("taskpool --so"), "--socket\n");
  EXPECT_EQ(BashCompletes("taskpool completion --he"), "--help\n");
  EXPECT_EQ(BashCompletes("taskpool completion f"), "fish\n");
}

TEST(BashCompletionTest, CompletesFunctionNamesFromTheDaemon) {
  testing::FakeDaemon daemon;
  EXPECT_EQ(BashCompletes("taskpool --socket " + daemon.path() + " call sh"), "shout\n");
  EXPECT_EQ(BashCompletes("taskpool map --socket " + daemon.path() + " --chunksize 4 ec"),
            "echo\n");
  // No daemon: nothing, and no error text in the terminal.
  EXPECT_EQ(BashCompletes("taskpool --socket /nonexistent/sock call sh"), "\n");
}

TEST(BashCompletionTest, CompletesFilesWhereFilesGo) {
  const std::string directory = ::testing::TempDir() + "completion-files";
  std::system(("mkdir -p " + directory + " && touch " + directory + "/input-one.txt").c_str());
  EXPECT_EQ(BashCompletes("taskpool map echo " + directory + "/input-"),
            directory + "/input-one.txt\n");
  EXPECT_EQ(BashCompletes("taskpool map --exec \"gzip {}\" " + directory + "/input-"),
            directory + "/input-one.txt\n");
  std::system(("rm -r " + directory).c_str());
}

TEST(FishCompletionTest, CompletesCommandsOptionsAndFunctionNames) {
  EXPECT_EQ(FishCompletes("taskpool ma"), "map\n");
  EXPECT_THAT(FishCompletes("taskpool map --chunk"), HasSubstr("--chunksize"));
  EXPECT_EQ(FishCompletes("taskpool map --progress="),
            "--progress=always\n--progress=auto\n--progress=never\n");
  testing::FakeDaemon daemon;
  EXPECT_EQ(FishCompletes("taskpool --socket " + daemon.path() + " call sh"), "shout\n");
  EXPECT_THAT(FishCompletes("taskpool --socket " + daemon.path() + " map echo sh"),
              Not(HasSubstr("shout")))
      << "the second word of map is an input, not a function";
}

TEST(ZshCompletionTest, LoadsAndRegistersItself) {
  EXPECT_EQ(RunShell("zsh", "autoload -U compinit && compinit -u -D && "
                            "source <(taskpool completion zsh) && "
                            "print -r -- ${_comps[taskpool]}"),
            "_taskpool\n");
  EXPECT_EQ(RunShell("zsh", "taskpool completion zsh > ${TMPDIR:-/tmp}/_taskpool.$$ && "
                            "zsh -n ${TMPDIR:-/tmp}/_taskpool.$$; rc=$?; "
                            "rm ${TMPDIR:-/tmp}/_taskpool.$$; exit $rc"),
            "");
}

}  // namespace
}  // namespace taskpool
