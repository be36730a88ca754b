// With --cluster, the status page of --http-listen lists the cluster's
// live nodes beside the workers (headless Chromium, as status_page_test;
// ctest label: browser). Without --cluster the section stays hidden
// (status_page_test sees no cluster in its document).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/integration/cluster_fixture.h"
#include "tests/integration/headless_browser.h"
#include "tests/integration/http_client.h"

namespace taskpool::testing {
namespace {

// Resolves with the cluster section once it shows `count` nodes (the page
// redraws once a second; this waits for the redraw, not for a time).
std::string NodesShown(int count) {
  return R"js(new Promise((resolve) => {
  const read = () => ({
    hidden: document.getElementById("cluster").hidden,
    state: document.getElementById("cluster-state").textContent,
    nodes: [...document.querySelectorAll("#nodes tr")].map((row) => row.dataset.node),
  });
  const done = () => read().nodes.length >= )js" +
         std::to_string(count) + R"js(;
  if (done()) return resolve(read());
  new MutationObserver((_, observer) => {
    if (done()) { observer.disconnect(); resolve(read()); }
  }).observe(document.body, {attributes: true, attributeFilter: ["data-refreshes"]});
}))js";
}

TEST(ClusterStatusPage, ListsTheLiveNodes) {
  NatsServer nats;
  DaemonProcess a(1, ClusterArgs(nats.url(), "a", {"--http-listen", "127.0.0.1:0"}));
  DaemonProcess b(1, ClusterArgs(nats.url(), "b"));
  ASSERT_TRUE(WaitForClusterOf(a.socket_path(), 2));
  const uint16_t port = HttpPort(a);
  ASSERT_NE(port, 0);

  const std::string profile = a.directory() + "/chromium";
  std::filesystem::create_directories(profile);
  Result<std::unique_ptr<HeadlessBrowser>> started = HeadlessBrowser::Start(CHROMIUM_PATH, profile);
  ASSERT_TRUE(started.ok()) << started.status().message();
  HeadlessBrowser& browser = **started;
  ASSERT_TRUE(browser.Open("http://127.0.0.1:" + std::to_string(port) + "/").ok())
      << browser.log();
  Result<nlohmann::json> shown = browser.Evaluate(NodesShown(2), std::chrono::seconds(60));
  ASSERT_TRUE(shown.ok()) << shown.status().message();
  SCOPED_TRACE("page: " + shown->dump());
  EXPECT_EQ(shown->at("hidden"), false);
  EXPECT_NE(shown->at("state").get<std::string>().find("as node a, connected"), std::string::npos);
  const std::vector<std::string> nodes = shown->at("nodes");
  EXPECT_EQ(std::set<std::string>(nodes.begin(), nodes.end()), (std::set<std::string>{"a", "b"}));
  EXPECT_TRUE(browser.page_errors().empty()) << browser.page_errors().front();
}

}  // namespace
}  // namespace taskpool::testing
