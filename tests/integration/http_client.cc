#include "tests/integration/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <regex>

namespace taskpool::testing {

using boost::asio::ip::tcp;

HttpResponse HttpExchange(uint16_t port, const std::string& request) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code error;
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), error);
  if (error) return {};
  // The server may answer (and stop reading) before all of an oversized
  // request is written; what it answered is still readable.
  boost::asio::write(socket, boost::asio::buffer(request), error);
  std::string raw;
  boost::asio::read(socket, boost::asio::dynamic_buffer(raw), error);  // until EOF
  HttpResponse response;
  const size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) return response;
  response.status = std::stoi(raw.substr(9, 3));
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  return response;
}

HttpResponse HttpGet(uint16_t port, const std::string& path) {
  return HttpExchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

uint16_t HttpPort(const DaemonProcess& daemon) {
  const std::regex logged(R"(serving HTTP on http://127\.0\.0\.1:(\d+)/ )");
  std::smatch match;
  const std::string log = daemon.log();
  if (!std::regex_search(log, match, logged)) {
    ADD_FAILURE() << "no HTTP address in the log:\n" << log;
    return 0;
  }
  return static_cast<uint16_t>(std::stoi(match[1]));
}

}  // namespace taskpool::testing
