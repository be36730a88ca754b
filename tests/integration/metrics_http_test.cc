// taskpoold --metrics-listen: the same Prometheus text as `taskpool
// metrics`, served over HTTP; bad values and a taken port stop the start.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_fixture.h"
#include "tests/integration/prometheus_parser.h"

namespace taskpool::testing {
namespace {

using boost::asio::ip::tcp;

struct HttpResponse {
  int status = 0;  // 0: the server closed without answering
  std::string headers;
  std::string body;
};

// Sends `request` as is and reads the answer until the server closes.
HttpResponse Exchange(uint16_t port, const std::string& request) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code error;
  // The server may answer (and stop reading) before all of an oversized
  // request is written; what it answered is still readable.
  boost::asio::write(socket, boost::asio::buffer(request), error);
  std::string raw;
  boost::asio::read(socket, boost::asio::dynamic_buffer(raw),
                    error);  // until EOF
  HttpResponse response;
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos)
    return response;
  response.status = std::stoi(raw.substr(9, 3));
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  return response;
}

HttpResponse Get(uint16_t port, const std::string& path) {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

// The port the daemon logged for --metrics-listen 127.0.0.1:0.
uint16_t MetricsPort(const DaemonProcess& daemon) {
  const std::regex logged(
      R"(serving metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  std::smatch match;
  const std::string log = daemon.log();
  if (!std::regex_search(log, match, logged)) {
    ADD_FAILURE() << "no metrics address in the log:\n" << log;
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(match[1]));
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  DaemonProcess daemon_{2, {"--metrics-listen", "127.0.0.1:0"}};
  const uint16_t port_ = MetricsPort(daemon_);
};

TEST_F(MetricsHttpTest, ServesTheSameFamiliesAsTheCli) {
  ASSERT_NE(port_, 0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"map", "is_prime", "7", "8", "9"})
                .exit_code,
            0);
  ASSERT_EQ(RunCli(daemon_.socket_path(), {"call", "fail", "boom"}).exit_code,
            1);

  const HttpResponse response = Get(port_, "/metrics");
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

TEST_F(MetricsHttpTest, OtherPathsAreNotFound) {
  ASSERT_NE(port_, 0);
  EXPECT_EQ(Get(port_, "/").status, 404);
  EXPECT_EQ(Get(port_, "/metricsx").status, 404);
  EXPECT_EQ(Get(port_, "/metrics?name[]=x").status,
            200);  // Prometheus may add a query
}

TEST_F(MetricsHttpTest, OtherMethodsAreNotAllowed) {
  ASSERT_NE(port_, 0);
  const HttpResponse response = Exchange(
      port_,
      "POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response.status, 405);
  EXPECT_NE(response.headers.find("Allow: GET"), std::string::npos)
      << response.headers;
}

TEST_F(MetricsHttpTest, OversizedRequestIsRefused) {
  ASSERT_NE(port_, 0);
  const std::string huge_header =
      "X-Padding: " + std::string(64 * 1024, 'a') + "\r\n";
  const HttpResponse response =
      Exchange(port_, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n" +
                          huge_header + "\r\n");
  EXPECT_EQ(response.status, 413);
  // The daemon is unharmed.
  EXPECT_EQ(Get(port_, "/metrics").status, 200);
}

TEST_F(MetricsHttpTest, IdleConnectionsBeyondTheCapAreClosed) {
  ASSERT_NE(port_, 0);
  boost::asio::io_context io;
  const tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                               port_);
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 8;
       ++i) {  // MetricsServer::kMaxConnections, sending nothing
    idle.emplace_back(io).connect(endpoint);
  }
  // One more is closed unanswered while those are open.
  EXPECT_EQ(Get(port_, "/metrics").status, 0);
  idle.clear();
  // Once they are gone a scrape works again (the daemon notices the closes
  // asynchronously, so allow it a moment).
  int status = 0;
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (status != 200 && std::chrono::steady_clock::now() < give_up) {
    status = Get(port_, "/metrics").status;
    if (status != 200)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
  // The Unix socket never noticed any of it.
  EXPECT_EQ(RunCli(daemon_.socket_path(), {"ping"}).exit_code, 0);
}

class MetricsListenOptionTest : public ::testing::Test {
 protected:
  CommandResult RunDaemon(const std::string& listen) {
    return RunCommand({DaemonBinary(), "--socket", directory_.File("t.sock"),
                       "--workers", "1", "--metrics-listen", listen});
  }
  TempDirectory directory_{"taskpool-metrics"};
};

TEST_F(MetricsListenOptionTest, BadValuesAreUsageErrors) {
  for (const std::string bad :
       {"127.0.0.1", "127.0.0.1:", "localhost:9464", "::1:9464",
        "127.0.0.1:99999", "127.0.0.1:http"}) {
    const CommandResult result = RunDaemon(bad);
    EXPECT_EQ(result.exit_code, 2) << bad << "\n" << result.err;
    EXPECT_NE(result.err.find("--metrics-listen"), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find(bad), std::string::npos) << result.err;
  }
}

TEST_F(MetricsListenOptionTest, ConfigFileKeyIsCheckedLikeTheFlag) {
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

TEST_F(MetricsListenOptionTest, PortInUseFailsTheStart) {
  boost::asio::io_context io;
  tcp::acceptor taken(
      io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::string address =
      "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  const CommandResult result = RunDaemon(address);
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("--metrics-listen " + address +
                            ": bind: Address already in use"),
            std::string::npos)
      << result.err;
}

}  // namespace
}  // namespace taskpool::testing
