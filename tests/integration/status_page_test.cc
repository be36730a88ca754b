// The status page of taskpoold --http-listen in a real browser (headless
// Chromium, driven over the DevTools protocol: headless_browser.h), and its
// /status.json against `taskpool --json status`. ctest label: browser.
//
// The browser test saves a screenshot of the page under the build tree
// (status-page.png beside this test's binary). It waits for
// $STATUS_PAGE_REFRESHES redraws (default 3); docs/status-page.png was
// taken with STATUS_PAGE_REFRESHES=45, for a chart with some history.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/headless_browser.h"
#include "tests/integration/http_client.h"

namespace taskpool::testing {
namespace {

class StatusPageTest : public ::testing::Test {
 protected:
  nlohmann::json ServedStatus() {
    const HttpResponse response = HttpGet(port_, "/status.json");
    EXPECT_EQ(response.status, 200) << response.headers;
    return nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  }

  DaemonProcess daemon_{2, {"--http-listen", "127.0.0.1:0"}};
  const uint16_t port_ = HttpPort(daemon_);
};

// `status` with the values that move between two reads blanked (time,
// memory, CPU, and the reader's own connection: the CLI holds one, an HTTP
// request none); every key is kept.
nlohmann::json Steady(nlohmann::json status) {
  // The CLI's own connection is counted in its document, not in the page's.
  for (const char* field :
       {"uptime_ms", "connections", "connections_per_user", "connection_memory"}) {
    status[field] = nullptr;
  }
  for (nlohmann::json& worker : status["workers"]) {
    for (const char* field : {"rss_bytes", "cpu_user_ms", "cpu_system_ms", "current_run_ms"}) {
      worker[field] = nullptr;
    }
  }
  return status;
}

TEST_F(StatusPageTest, StatusJsonIsTheDocumentOfTheCli) {
  ASSERT_NE(port_, 0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"map", "is_prime", "7", "8", "9"}).exit_code, 0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "fail", "boom"}).exit_code, 1);

  const nlohmann::json served = ServedStatus();
  const CommandResult printed = RunCli(daemon_.socket_path(), {"--json", "status"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  ASSERT_EQ(printed.out.find('\n'), printed.out.size() - 1) << "not one line: " << printed.out;
  const nlohmann::json cli = nlohmann::json::parse(printed.out);

  // The same fields with the same values, down to the last nested one.
  EXPECT_EQ(Steady(served), Steady(cli)) << "served: " << served.dump() << "\ncli: " << cli.dump();
  EXPECT_EQ(served.at("tasks_submitted"), "4");
  EXPECT_EQ(served.at("functions").size(), 2u);
}

// Keeps the pool working until destroyed: one worker held by a long
// `sleep`, the other fed a stream of short tasks (some failing) with more
// queued behind them, so the page has a busy worker, a queue and
// throughput to show.
class Load {
 public:
  explicit Load(const std::string& socket)
      : held_client_(ConnectTo(socket)), stream_client_(ConnectTo(socket)) {
    if (!held_client_ || !stream_client_) return;
    held_id_ = held_client_->submit("sleep", "600000", [](TaskResult) {});
    // The first tasks of every kind are in before the page can look.
    while (in_flight_.size() < kInFlight) SubmitNext();
    stream_ = std::thread([this] { Stream(); });
  }
  ~Load() {
    stop_ = true;
    if (stream_.joinable()) stream_.join();
    if (held_client_) held_client_->cancel(held_id_, /*kill_running=*/true);
  }
  bool ok() const { return held_id_ != 0; }
  uint64_t held_id() const { return held_id_; }

 private:
  static constexpr size_t kInFlight = 8;

  // One more task: mostly short sleeps, some is_prime, every eighth a
  // failure (so the first kInFlight have one of each).
  void SubmitNext() {
    const uint64_t i = submitted_++;
    if (i % kInFlight == kInFlight - 1) {
      in_flight_.push_back(stream_client_->submit("fail", "boom"));
    } else if (i % 3 == 1) {
      in_flight_.push_back(stream_client_->submit("is_prime", "454577"));
    } else {
      in_flight_.push_back(stream_client_->submit("sleep", "20"));
    }
  }

  void Stream() {
    while (!stop_) {
      in_flight_.front().wait();
      in_flight_.pop_front();
      SubmitNext();
    }
    for (std::future<TaskResult>& result : in_flight_) result.wait();
  }

  std::unique_ptr<Client> held_client_;
  std::unique_ptr<Client> stream_client_;
  uint64_t held_id_ = 0;
  uint64_t submitted_ = 0;
  std::deque<std::future<TaskResult>> in_flight_;  // the stream thread's once it runs
  std::atomic<bool> stop_{false};
  std::thread stream_;
};

int RefreshesToWaitFor() {
  const char* text = std::getenv("STATUS_PAGE_REFRESHES");
  const int refreshes = text != nullptr ? std::atoi(text) : 0;
  return refreshes >= 3 ? refreshes : 3;
}

// Resolves once the page has redrawn `count` times (it counts them in
// <body data-refreshes>).
std::string RefreshesReached(int count) {
  return "new Promise((resolve) => {"
         "  const done = () => Number(document.body.dataset.refreshes) >= " +
         std::to_string(count) +
         ";"
         "  if (done()) return resolve(true);"
         "  new MutationObserver((_, observer) => {"
         "    if (done()) { observer.disconnect(); resolve(true); }"
         "  }).observe(document.body, {attributes: true, attributeFilter: ['data-refreshes']});"
         "})";
}

// What the page shows, read from its DOM.
constexpr char kReadPage[] = R"js(({
  refreshes: Number(document.body.dataset.refreshes),
  error: document.body.dataset.error,
  workers: [...document.querySelectorAll("#workers tr")].map((row) => ({
    pid: Number(row.dataset.pid), state: row.dataset.state,
    current: row.querySelector(".current").textContent})),
  functions: [...document.querySelectorAll("#functions tr")].map((row) => row.dataset.name),
  cluster_hidden: document.getElementById("cluster").hidden,
  samples: Number(document.getElementById("chart").dataset.samples),
  rate_points: document.querySelector("#chart polyline.rate").points.numberOfItems,
  depth_points: document.querySelector("#chart polyline.depth").points.numberOfItems,
  chart_width: document.getElementById("chart").getBoundingClientRect().width,
}))js";

// The pid of the worker running task `id` of this process in `status`, or 0.
pid_t WorkerRunning(uint64_t id, const nlohmann::json& status) {
  for (const nlohmann::json& worker : status.value("workers", nlohmann::json::array())) {
    if (worker.at("current_task_id") == std::to_string(id) &&
        worker.at("current_client_pid") == getpid()) {
      return worker.at("pid").get<pid_t>();
    }
  }
  return 0;
}

// The names in `status`'s functions[].
std::set<std::string> FunctionNames(const nlohmann::json& status) {
  std::set<std::string> names;
  for (const nlohmann::json& function : status.value("functions", nlohmann::json::array())) {
    names.insert(function.at("name").get<std::string>());
  }
  return names;
}

TEST_F(StatusPageTest, BrowserShowsEveryWorkerAndDrawsTheChart) {
  ASSERT_NE(port_, 0);
  Load load(daemon_.socket_path());
  ASSERT_TRUE(load.ok());
  // Before the page looks: the long sleep runs, and every kind of task has
  // reached the daemon.
  const std::set<std::string> kFunctions = {"fail", "is_prime", "sleep"};
  pid_t held_worker = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    const nlohmann::json status = ServedStatus();
    held_worker = WorkerRunning(load.held_id(), status);
    if (held_worker != 0 && FunctionNames(status) == kFunctions) break;
    held_worker = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(held_worker, 0) << "the long sleep never started, or a function is missing";

  const std::string profile = daemon_.directory() + "/chromium";
  std::filesystem::create_directories(profile);
  Result<std::unique_ptr<HeadlessBrowser>> started = HeadlessBrowser::Start(CHROMIUM_PATH, profile);
  ASSERT_TRUE(started.ok()) << started.status().message();
  HeadlessBrowser& browser = **started;
  const std::string origin = "http://127.0.0.1:" + std::to_string(port_) + "/";
  ASSERT_TRUE(browser.Open(origin).ok()) << browser.log();

  const int refreshes = RefreshesToWaitFor();
  Result<nlohmann::json> reached =
      browser.Evaluate(RefreshesReached(refreshes), std::chrono::seconds(60 + refreshes));
  ASSERT_TRUE(reached.ok()) << reached.status().message();
  Result<nlohmann::json> page = browser.Evaluate(kReadPage);
  ASSERT_TRUE(page.ok()) << page.status().message();
  SCOPED_TRACE("page: " + page->dump());

  // One row per worker of the daemon, the held one busy with its sleep.
  std::set<pid_t> daemon_workers;
  const nlohmann::json status = ServedStatus();
  for (const nlohmann::json& worker : status.at("workers")) {
    daemon_workers.insert(worker.at("pid").get<pid_t>());
  }
  std::set<pid_t> shown;
  for (const nlohmann::json& row : page->at("workers")) {
    shown.insert(row.at("pid").get<pid_t>());
    if (row.at("pid") == held_worker) {
      EXPECT_EQ(row.at("state"), "busy");
      EXPECT_EQ(row.at("current"), "sleep");
    }
  }
  EXPECT_EQ(page->at("workers").size(), 2u);
  EXPECT_EQ(page->at("cluster_hidden"), true) << "no cluster section without --cluster";
  EXPECT_EQ(shown, daemon_workers);
  EXPECT_EQ(shown.count(held_worker), 1u);
  const std::vector<std::string> shown_functions = page->at("functions");
  EXPECT_EQ(std::set<std::string>(shown_functions.begin(), shown_functions.end()), kFunctions);

  // The chart: a point of queue depth per refresh, a throughput point per
  // interval between two.
  EXPECT_GE(page->at("refreshes").get<int>(), refreshes);
  EXPECT_EQ(page->at("error"), "");
  EXPECT_GE(page->at("samples").get<int>(), refreshes);
  EXPECT_GE(page->at("depth_points").get<int>(), refreshes);
  EXPECT_GE(page->at("rate_points").get<int>(), refreshes - 1);
  EXPECT_GT(page->at("chart_width").get<double>(), 0.0);

  // Self-contained: it asked this daemon for everything, and nothing failed.
  ASSERT_FALSE(browser.requested_urls().empty());
  for (const std::string& url : browser.requested_urls()) {
    EXPECT_EQ(url.rfind(origin, 0), 0u) << url;
  }
  EXPECT_THAT(browser.requested_urls(), ::testing::Contains(origin + "status.json"));
  EXPECT_THAT(browser.page_errors(), ::testing::IsEmpty());

  Result<std::string> png = browser.Screenshot();
  ASSERT_TRUE(png.ok()) << png.status().message();
  ASSERT_EQ(png->substr(0, 8), "\x89PNG\r\n\x1a\n");
  std::ofstream(STATUS_PAGE_SCREENSHOT, std::ios::binary) << *png;
  std::cout << "screenshot: " << STATUS_PAGE_SCREENSHOT << "\n";
}

}  // namespace
}  // namespace taskpool::testing
