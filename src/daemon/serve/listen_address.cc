#include "daemon/serve/listen_address.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>

namespace taskpool::daemon {

std::string ListenAddress::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> ParseListenAddress(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Status(
        ErrorCode::kInvalidArgument,
        "'" + text + "' has no port; expected HOST:PORT, e.g. 127.0.0.1:9464");
  }
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' &&
      address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  } else if (address.host.find(':') != std::string::npos) {
    return Status(
        ErrorCode::kInvalidArgument,
        "'" + text + "': write an IPv6 address in brackets, e.g. [::1]:9464");
  }
  const std::string port = text.substr(colon + 1);
  const auto [end, error] =
      std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (error != std::errc() || end != port.data() + port.size()) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + text + "': the port must be a number from 0 to 65535");
  }
  boost::system::error_code bad_address;
  boost::asio::ip::make_address(address.host, bad_address);
  if (bad_address) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + text + "': '" + address.host +
                      "' is not an IP address (host names are not resolved)");
  }
  return address;
}

}  // namespace taskpool::daemon
