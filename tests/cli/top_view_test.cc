// The text `taskpool top` draws, from a PoolStatus (no terminal needed).
#include "cli/top_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace taskpool::cli {
namespace {

using std::chrono::milliseconds;

std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// The line that contains `needle`, or "".
std::string LineWith(const std::vector<std::string>& lines, const std::string& needle) {
  const auto line = std::find_if(lines.begin(), lines.end(), [&](const std::string& candidate) {
    return candidate.find(needle) != std::string::npos;
  });
  return line == lines.end() ? "" : *line;
}

PoolStatus SampleStatus() {
  PoolStatus status;
  status.server_version = "1.2.3";
  status.daemon_pid = 4242;
  status.uptime = milliseconds(3'723'000);
  status.queue_depth = 5;
  status.queue_capacity = 1024;
  status.running = 1;
  status.connections = 3;
  status.tasks_submitted = 120;
  status.tasks_succeeded = 117;
  status.tasks_failed = 2;
  status.tasks_in_flight = 1;
  status.workers_died = 1;
  WorkerInfo busy;
  busy.index = 0;
  busy.pid = 31337;
  busy.state = WorkerState::kBusy;
  busy.current_function = "sleep";
  busy.current_run_time = milliseconds(1500);
  busy.tasks_done = 40;
  busy.restarts = 1;
  busy.last_exit = "killed by SIGKILL";
  busy.rss_bytes = 12 * 1024 * 1024 + 300 * 1024;
  busy.cpu_user = milliseconds(400);
  busy.cpu_system = milliseconds(120);
  WorkerInfo idle;
  idle.index = 1;
  idle.pid = 31338;
  idle.state = WorkerState::kIdle;
  status.workers = {busy, idle};
  return status;
}

TEST(TopViewTest, HeaderShowsDaemonQueueTotalsAndSettings) {
  PoolStatus status = SampleStatus();
  std::vector<std::string> lines = RenderTop(status);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "taskpoold 1.2.3 (pid 4242), up 1h02m | workers 2/2 up | queue 5/1024 | "
            "running 1 | connections 3");
  EXPECT_EQ(lines[1],
            "tasks 120 submitted, 117 ok, 2 failed, 0 cancelled, 1 in flight | workers died 1 | "
            "slowlog off | per-user limit off");
  status.slowlog_ms = 500;
  status.max_in_flight_per_user = 4;
  lines = RenderTop(status);
  EXPECT_NE(lines[1].find("slowlog 500 ms | per-user limit 4 tasks"), std::string::npos)
      << lines[1];
}

TEST(TopViewTest, ARowPerWorker) {
  const std::vector<std::string> lines = RenderTop(SampleStatus());
  const std::string header = LineWith(lines, "PID");
  for (const char* column : {"IDX", "STATE", "FUNCTION", "RUNNING", "TASKS", "RESTARTS", "RSS",
                             "CPU", "LAST EXIT"}) {
    EXPECT_NE(header.find(column), std::string::npos) << column << " in " << header;
  }
  const std::string busy = LineWith(lines, "31337");
  for (const char* cell : {"busy", "sleep", "1.5 s", "40", "12.3 MiB", "520 ms",
                           "killed by SIGKILL"}) {
    EXPECT_NE(busy.find(cell), std::string::npos) << cell << " in " << busy;
  }
  const std::string idle = LineWith(lines, "31338");
  EXPECT_NE(idle.find("idle"), std::string::npos) << idle;
  EXPECT_EQ(idle.find("sleep"), std::string::npos) << idle;
  // Columns line up: the pid column ends at the same place in every row.
  EXPECT_EQ(header.find("PID") + 3, busy.find("31337") + 5);
  EXPECT_EQ(idle.find("31338"), busy.find("31337"));
}

TEST(TopViewTest, FunctionAndUserRowsOnlyWhenPresent) {
  PoolStatus status = SampleStatus();
  std::string text = Joined(RenderTop(status));
  EXPECT_EQ(text.find("SUBMITTED"), std::string::npos);
  EXPECT_EQ(text.find("IN FLIGHT"), std::string::npos);

  FunctionInfo sleep;
  sleep.name = "sleep";
  sleep.submitted = 10;
  sleep.succeeded = 7;
  sleep.failed = {{ErrorCode::kTimeout, 2}, {ErrorCode::kWorkerDied, 1}};
  sleep.queue_wait = {10, std::chrono::microseconds(250), {}, std::chrono::microseconds(4200), {}};
  sleep.run_time = {10, std::chrono::microseconds(1'000'000), {},
                    std::chrono::microseconds(2'500'000), {}};
  FunctionInfo never;  // submitted, nothing finished yet
  never.name = "echo";
  never.submitted = 1;
  status.functions = {never, sleep};
  status.users = {{0, "root", 2, 4}, {65534, "", 1, 0}};
  const std::vector<std::string> lines = RenderTop(status);
  text = Joined(lines);
  const std::string functions = LineWith(lines, "SUBMITTED");
  for (const char* column : {"FUNCTION", "OK", "FAILED", "WAIT p50", "WAIT p99", "RUN p50",
                             "RUN p99"}) {
    EXPECT_NE(functions.find(column), std::string::npos) << column;
  }
  // The function row starts with its name (the worker row has it later).
  const std::string row = *std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.rfind("sleep ", 0) == 0;
  });
  for (const char* cell : {" 10 ", " 7 ", " 3 ", "250 us", "4.2 ms", "1.00 s", "2.50 s"}) {
    EXPECT_NE(row.find(cell), std::string::npos) << cell << " in " << row;
  }
  EXPECT_NE(LineWith(lines, "echo").find(" - "), std::string::npos) << "no latency yet";
  const std::string root = LineWith(lines, "root");
  EXPECT_NE(root.find(" 2 "), std::string::npos) << root;
  EXPECT_NE(root.find(" 4"), std::string::npos) << root;
  EXPECT_NE(LineWith(lines, "65534").rfind("-", 0), std::string::npos) << "unnamed user";
}

TEST(TopViewTest, UnreachableSaysWhyAndThatItRetries) {
  const std::vector<std::string> lines =
      RenderUnreachable("nothing listens on /run/x.sock", milliseconds(2000));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "daemon not reachable: nothing listens on /run/x.sock");
  EXPECT_EQ(lines[1], "retrying every 2.0 s");
}

TEST(TopViewTest, Formats) {
  EXPECT_EQ(FormatDuration(milliseconds(850)), "850 ms");
  EXPECT_EQ(FormatDuration(milliseconds(12'345)), "12.3 s");
  EXPECT_EQ(FormatDuration(milliseconds(303'000)), "5m03s");
  EXPECT_EQ(FormatDuration(milliseconds(7'500'000)), "2h05m");
  EXPECT_EQ(FormatDuration(milliseconds(273'600'000)), "3d04h");
  EXPECT_EQ(FormatDuration(milliseconds(-5)), "0 ms");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(FormatLatency(std::chrono::microseconds(5), 0), "-");
  EXPECT_EQ(FormatLatency(std::chrono::microseconds(850), 1), "850 us");
  EXPECT_EQ(FormatLatency(std::chrono::microseconds(12'340), 1), "12.3 ms");
  EXPECT_EQ(FormatLatency(std::chrono::microseconds(1'200'000), 1), "1.20 s");
}

TEST(TopView, ShowsTheClusterOnlyWithOne) {
  PoolStatus status = SampleStatus();
  EXPECT_EQ(LineWith(RenderTop(status), "cluster"), "");
  status.cluster.enabled = true;
  status.cluster.node = "web1";
  status.cluster.queue = "jobs";
  status.cluster.connected = true;
  status.cluster.published = 7;
  status.cluster.nodes = {{"web1", 4, 2, 0, milliseconds(120), true},
                          {"web2", 8, 8, 3, milliseconds(900), false}};
  const std::vector<std::string> lines = RenderTop(status);
  const std::string header = LineWith(lines, "cluster 'jobs'");
  EXPECT_NE(header.find("as node web1: connected; published 7"), std::string::npos) << header;
  const std::string other = LineWith(lines, "web2");
  EXPECT_NE(other.find("8"), std::string::npos);
  EXPECT_NE(other.find("900 ms ago"), std::string::npos) << other;
  EXPECT_NE(LineWith(lines, "web1 *"), "");
  status.cluster.connected = false;
  status.cluster.problem = "disconnected from NATS; reconnecting";
  EXPECT_NE(LineWith(RenderTop(status), "NOT CONNECTED (disconnected from NATS"), "");
}

}  // namespace
}  // namespace taskpool::cli
