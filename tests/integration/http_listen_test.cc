// taskpoold --http-listen (and --metrics-listen, its older name): the same
// Prometheus text as `taskpool metrics` at /metrics, the status page at /
// and its JSON at /status.json, within the endpoint's limits; bad values
// and a taken port stop the start. (The page in a browser, and the JSON
// against the CLI's: status_page_test.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/http_client.h"
#include "tests/integration/prometheus_parser.h"

namespace taskpool::testing {
namespace {

using boost::asio::ip::tcp;
using ::testing::HasSubstr;

// Under its older name: everything works as under --http-listen.
class HttpListenTest : public ::testing::Test {
 protected:
  DaemonProcess daemon_{2, {"--metrics-listen", "127.0.0.1:0"}};
  const uint16_t port_ = HttpPort(daemon_);
};

TEST_F(HttpListenTest, ServesTheSameFamiliesAsTheCli) {
  ASSERT_NE(port_, 0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"map", "is_prime", "7", "8", "9"})
                .exit_code,
            0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "fail", "boom"}).exit_code,
            1);

  const HttpResponse response = HttpGet(port_, "/metrics");
  ASSERT_EQ(response.status, 200) << response.headers;
  EXPECT_NE(response.headers.find("Content-Type: text/plain; version=0.0.4"),
            std::string::npos)
      << response.headers;
  const PrometheusText served = ParsePrometheusText(response.body);
  for (const std::string& error : served.errors) ADD_FAILURE() << error;

  const CommandResult cli = RunCli(daemon_.socket_path(), {"metrics"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const PrometheusText printed = ParsePrometheusText(cli.out);
  EXPECT_EQ(served.families(), printed.families());
  EXPECT_EQ(served.types, printed.types);
  EXPECT_EQ(served.Value("taskpool_tasks_submitted_total"), 4);
  EXPECT_EQ(served.Value("taskpool_function_tasks_failed_total",
                         {{"function", "fail"}, {"code", "TASK_FAILED"}}),
            1);
}

TEST_F(HttpListenTest, ServesTheStatusPage) {
  ASSERT_NE(port_, 0);
  const HttpResponse page = HttpGet(port_, "/");
  ASSERT_EQ(page.status, 200) << page.headers;
  EXPECT_THAT(page.headers, HasSubstr("Content-Type: text/html; charset=utf-8"));
  EXPECT_THAT(page.headers, HasSubstr("Cache-Control: no-store"));
  // The browser is told to load nothing from anywhere but this daemon.
  EXPECT_THAT(page.headers, HasSubstr("Content-Security-Policy: default-src 'none';"));
  EXPECT_THAT(page.body, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(page.body, HasSubstr("status.json"));
  // Self-contained: no script, style, font or image from elsewhere.
  for (const char* reference : {"src=", "@import", "url(", "@font-face"}) {
    EXPECT_THAT(page.body, Not(HasSubstr(reference))) << reference;
  }
  for (size_t at = 0; (at = page.body.find("href=", at)) != std::string::npos; ++at) {
    EXPECT_EQ(page.body.substr(at, 11), "href=\"data:") << page.body.substr(at, 40);
  }
}

TEST_F(HttpListenTest, ServesTheStatusAsJson) {
  ASSERT_NE(port_, 0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "echo", "x"}).exit_code, 0);
  const HttpResponse response = HttpGet(port_, "/status.json");
  ASSERT_EQ(response.status, 200) << response.headers;
  EXPECT_THAT(response.headers, HasSubstr("Content-Type: application/json"));
  const nlohmann::json status = nlohmann::json::parse(response.body);
  EXPECT_EQ(status.at("workers").size(), 2u);
  EXPECT_EQ(status.at("daemon_pid"), daemon_.pid());
  EXPECT_EQ(status.at("tasks_succeeded"), "1");  // 64-bit: a string in the mapping
}

TEST_F(HttpListenTest, OtherPathsAreNotFound) {
  ASSERT_NE(port_, 0);
  const HttpResponse missing = HttpGet(port_, "/index.html");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "not found; this server has /, /status.json and /metrics\n");
  EXPECT_EQ(HttpGet(port_, "/metricsx").status, 404);
  EXPECT_EQ(HttpGet(port_, "/metrics?name[]=x").status,
            200);  // Prometheus may add a query
}

TEST_F(HttpListenTest, OtherMethodsAreNotAllowed) {
  ASSERT_NE(port_, 0);
  const HttpResponse response = HttpExchange(
      port_,
      "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response.status, 405);
  EXPECT_NE(response.headers.find("Allow: GET"), std::string::npos)
      << response.headers;
}

TEST_F(HttpListenTest, OversizedRequestIsRefused) {
  ASSERT_NE(port_, 0);
  const std::string huge_header =
      "X-Padding: " + std::string(64 * 1024, 'a') + "\r\n";
  const HttpResponse response =
      HttpExchange(port_, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n" +
                          huge_header + "\r\n");
  EXPECT_EQ(response.status, 413);
  // The daemon is unharmed.
  EXPECT_EQ(HttpGet(port_, "/metrics").status, 200);
}

TEST_F(HttpListenTest, IdleConnectionsBeyondTheCapAreClosed) {
  ASSERT_NE(port_, 0);
  boost::asio::io_context io;
  const tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                               port_);
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 8; ++i) {  // HttpServer::kMaxConnections, sending nothing
    idle.emplace_back(io).connect(endpoint);
  }
  // One more is closed unanswered while those are open.
  EXPECT_EQ(HttpGet(port_, "/metrics").status, 0);
  idle.clear();
  // Once they are gone a scrape works again (the daemon notices the closes
  // asynchronously, so allow it a moment).
  int status = 0;
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (status != 200 && std::chrono::steady_clock::now() < give_up) {
    status = HttpGet(port_, "/metrics").status;
    if (status != 200)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
  // The Unix socket never noticed any of it.
  EXPECT_EQ(RunCli(daemon_.socket_path(), {"ping"}).exit_code, 0);
}

class HttpListenOptionTest : public ::testing::Test {
 protected:
  CommandResult RunDaemon(const std::string& listen,
                          const std::string& option = "--metrics-listen") {
    return RunCommand({DaemonBinary(), "--socket", directory_.File("t.sock"),
                       "--workers", "1", option, listen});
  }
  TempDirectory directory_{"taskpool-metrics"};
};

TEST_F(HttpListenOptionTest, BadValuesAreUsageErrors) {
  for (const std::string option : {"--http-listen", "--metrics-listen"}) {
    for (const std::string bad :
         {"127.0.0.1", "127.0.0.1:", "localhost:9464", "::1:9464",
          "127.0.0.1:99999", "127.0.0.1:http"}) {
      const CommandResult result = RunDaemon(bad, option);
      EXPECT_EQ(result.exit_code, 2) << bad << "\n" << result.err;
      // Named as the operator wrote it.
      EXPECT_THAT(result.err, HasSubstr(option + ": '" + bad));
    }
  }
}

TEST_F(HttpListenOptionTest, BothNamesMustAgree) {
  const CommandResult result = RunCommand(
      {DaemonBinary(), "--socket", directory_.File("t.sock"), "--workers", "1", "--http-listen",
       "127.0.0.1:0", "--metrics-listen", "127.0.0.1:9464", "--test-config"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err,
              HasSubstr("--http-listen 127.0.0.1:0 and --metrics-listen 127.0.0.1:9464 "
                        "disagree: --metrics-listen is the older name of --http-listen"));
}

TEST_F(HttpListenOptionTest, FlagWinsOverTheFileUnderEitherName) {
  // The file asks for a port that is taken; the flag, under the other name,
  // for a free one. Only the flag's address is bound, so the start works.
  boost::asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string config = directory_.File("taskpoold.conf");
  std::ofstream(config) << "http-listen = 127.0.0.1:" << taken.local_endpoint().port() << "\n";
  DaemonProcess daemon(1, {"--config", config, "--metrics-listen", "127.0.0.1:0"});
  const uint16_t port = HttpPort(daemon);
  ASSERT_NE(port, 0);
  EXPECT_NE(port, taken.local_endpoint().port());
  EXPECT_EQ(HttpGet(port, "/metrics").status, 200);
}

TEST_F(HttpListenOptionTest, ConfigFileKeyIsCheckedLikeTheFlag) {
  const std::string config = directory_.File("taskpoold.conf");
  std::ofstream(config) << "workers = 1\nmetrics-listen = 127.0.0.1\n";
  const CommandResult result =
      RunCommand({DaemonBinary(), "--socket", directory_.File("t.sock"),
                  "--config", config, "--test-config"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(
      result.err.find(config + ":2: option 'metrics-listen': --metrics-listen: "
                               "'127.0.0.1' has no port"),
      std::string::npos)
      << result.err;
}

TEST_F(HttpListenOptionTest, ConfigFileTakesTheNewName) {
  const std::string config = directory_.File("taskpoold.conf");
  std::ofstream(config) << "workers = 1\nhttp-listen = 127.0.0.1:0\n";
  DaemonProcess daemon(1, {"--config", config});
  const uint16_t port = HttpPort(daemon);
  ASSERT_NE(port, 0);
  EXPECT_EQ(HttpGet(port, "/").status, 200);
}

TEST_F(HttpListenOptionTest, PortInUseFailsTheStart) {
  boost::asio::io_context io;
  tcp::acceptor taken(
      io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string address =
      "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  for (const std::string option : {"--http-listen", "--metrics-listen"}) {
    const CommandResult result = RunDaemon(address, option);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_THAT(result.err, HasSubstr(option + " " + address + ": bind: Address already in use"));
  }
}

}  // namespace
}  // namespace taskpool::testing
