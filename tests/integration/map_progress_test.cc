// `taskpool map --progress` in a real terminal (a pty): the live line on
// stderr mid-run, never a byte of it on stdout, nothing at all when stderr
// is not a terminal, and TERM=dumb / NO_COLOR honoured.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/terminal_process.h"

namespace taskpool::testing {
namespace {

class MapProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(2, std::vector<std::string>{"--enable-exec"});
  }

  // map --exec over a, b, c and last, where job "last" waits until the
  // test creates the file `go`: the run is mid-way for as long as the test
  // wants, whatever the machine's speed.
  std::vector<std::string> GatedMap(const std::string& progress) const {
    return {"map", "--progress=" + progress, "--exec",
            "if [ {} = last ]; then while [ ! -e '" + Go() +
                "' ]; do sleep 0.05; done; fi; echo out:{}",
            "a", "b", "c", "last"};
  }
  std::string Go() const { return daemon_->directory() + "/go"; }

  std::vector<std::string> Cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CliBinary(), "--socket", daemon_->socket_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(MapProgressTest, ShowsTheLineMidRunAndLeavesStdoutAlone) {
  const std::string tty_stdout = daemon_->directory() + "/stdout-with-progress";
  {
    // stderr is the terminal, stdout a file: what a person piping the
    // results into a file sees.
    TerminalProcess map(Cli(GatedMap("auto")), tty_stdout);
    ASSERT_TRUE(map.started());
    EXPECT_TRUE(map.ReadUntil("map: 3/4 75% | ")) << "mid-run:\n" << map.screen();
    EXPECT_NE(map.screen().find(" in flight | 0 failed | "), std::string::npos) << map.screen();
    EXPECT_NE(map.screen().find(" elapsed | ETA "), std::string::npos) << map.screen();
    std::ofstream(Go()) << "";
    EXPECT_EQ(map.Wait(), 0) << map.screen();
    EXPECT_NE(map.screen().find("map: 4/4 100%"), std::string::npos) << map.screen();
  }
  const std::string with_progress = ReadFile(tty_stdout);
  EXPECT_EQ(with_progress, "out:a\nout:b\nout:c\nout:last\n");

  const CommandResult never = RunCli(daemon_->socket_path(), GatedMap("never"));
  EXPECT_EQ(never.exit_code, 0) << never.err;
  EXPECT_EQ(never.out, with_progress) << "stdout is byte-identical without progress";

  // auto with stderr not a terminal: not one byte of progress.
  const CommandResult redirected = RunCli(daemon_->socket_path(), GatedMap("auto"));
  EXPECT_EQ(redirected.exit_code, 0) << redirected.err;
  EXPECT_EQ(redirected.err, "");
  EXPECT_EQ(redirected.out, with_progress);
}

TEST_F(MapProgressTest, ReadingStdinShowsDoneWithoutATotal) {
  std::ofstream(Go()) << "";
  TerminalProcess map(Cli({"map", "--progress=always", "--no-tag", "echo", "-"}),
                      daemon_->directory() + "/out");
  ASSERT_TRUE(map.started());
  map.Type("x\ny\n\x04");  // two lines, then end-of-file (Ctrl-D)
  EXPECT_EQ(map.Wait(), 0) << map.screen();
  EXPECT_NE(map.screen().find("map: 2 done | "), std::string::npos) << map.screen();
  EXPECT_EQ(map.screen().find("ETA"), std::string::npos) << map.screen();
}

TEST_F(MapProgressTest, NoColorAndDumbTerminalsGetPlainText) {
  {
    TerminalProcess map(Cli({"map", "--progress=always", "fail", "x"}),
                        daemon_->directory() + "/out1", {"NO_COLOR=1"});
    EXPECT_EQ(map.Wait(), 1) << map.screen();
    EXPECT_NE(map.screen().find("1 failed"), std::string::npos) << map.screen();
    EXPECT_EQ(map.screen().find("\x1b[31m"), std::string::npos) << "NO_COLOR: no red";
  }
  {
    TerminalProcess map(Cli({"map", "--progress=always", "fail", "x"}),
                        daemon_->directory() + "/out2", {"TERM=dumb"});
    EXPECT_EQ(map.Wait(), 1) << map.screen();
    EXPECT_NE(map.screen().find("map: 1/1 100%"), std::string::npos) << map.screen();
    EXPECT_EQ(map.screen().find('\x1b'), std::string::npos) << "TERM=dumb: no escapes";
  }
  {
    // auto stays quiet on a dumb terminal.
    TerminalProcess map(Cli({"map", "--progress=auto", "echo", "x"}),
                        daemon_->directory() + "/out3", {"TERM=dumb"});
    EXPECT_EQ(map.Wait(), 0) << map.screen();
    EXPECT_EQ(map.screen().find("map: "), std::string::npos) << map.screen();
  }
}

}  // namespace
}  // namespace taskpool::testing
