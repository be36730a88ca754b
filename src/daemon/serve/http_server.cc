#include "daemon/serve/http_server.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/log.h"

namespace taskpool::daemon {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using boost::asio::ip::tcp;

namespace {

// How long a connection may keep sending after its answer went out.
constexpr std::chrono::seconds kLingerTimeout{2};

// Asio opens and accepts sockets without close-on-exec; every descriptor
// of ours must have it (workers close the rest after fork anyway).
void KeepFromChildren(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

// "not found; this server has /, /status.json and /metrics\n"
std::string NotFoundText(const std::vector<HttpRoute>& routes) {
  std::string text = "not found; this server has ";
  for (size_t i = 0; i < routes.size(); ++i) {
    if (i != 0) text += i + 1 == routes.size() ? " and " : ", ";
    text += routes[i].path;
  }
  return text + "\n";
}

}  // namespace

// One HTTP connection: read one request, answer it, close.
class HttpServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket,
          std::shared_ptr<const std::vector<HttpRoute>> routes)
      : stream_(std::move(socket)), routes_(std::move(routes)) {
    parser_.header_limit(static_cast<uint32_t>(kMaxRequestBytes));
    parser_.body_limit(0);  // a GET has no body
  }

  void Start() {
    stream_.expires_after(kTimeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code error, size_t) {
          self->OnRead(error);
        });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void OnRead(beast::error_code error) {
    if (error == http::error::header_limit ||
        error == http::error::body_limit ||
        error == http::error::buffer_overflow) {
      Respond(http::status::payload_too_large, Text("request too large\n"));
      return;
    }
    if (error) return;  // timeout, reset, garbage: nothing to answer
    const http::request<http::empty_body>& request = parser_.get();
    const std::string_view target(request.target().data(),
                                  request.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const auto route =
        std::find_if(routes_->begin(), routes_->end(),
                     [&](const HttpRoute& each) { return each.path == path; });
    if (route == routes_->end()) {
      Respond(http::status::not_found, Text(NotFoundText(*routes_)));
    } else if (request.method() != http::verb::get) {
      Respond(http::status::method_not_allowed,
              Text("only GET is supported\n"));
    } else {
      Respond(http::status::ok, route->render());
    }
  }

  static HttpContent Text(std::string text) {
    return {.content_type = "text/plain; charset=utf-8",
            .body = std::move(text),
            .headers = {}};
  }

  void Respond(http::status status, HttpContent content) {
    response_.result(status);
    response_.version(11);
    response_.set(http::field::server, "taskpoold/" TASKPOOL_VERSION);
    response_.set(http::field::content_type, content.content_type);
    // Every answer is the state of this moment.
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : content.headers) {
      response_.set(name, value);
    }
    if (status == http::status::method_not_allowed)
      response_.set(http::field::allow, "GET");
    response_.keep_alive(false);
    response_.body() = std::move(content.body);
    response_.prepare_payload();
    stream_.expires_after(kTimeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code error, size_t) {
          if (error) {
            self->Close();
            return;
          }
          // Closing with unread request bytes (an oversized
          // request) would reset the connection and could
          // destroy the answer before the client reads it:
          // half-close, and discard what still comes.
          beast::error_code ignored;
          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
          self->stream_.expires_after(kLingerTimeout);
          self->Discard();
        });
  }

  // Reads and drops input until the client closes or kLingerTimeout.
  void Discard() {
    stream_.async_read_some(
        boost::asio::buffer(discard_),
        [self = shared_from_this()](beast::error_code error, size_t) {
          if (error) {
            self->Close();
          } else {
            self->Discard();
          }
        });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<const std::vector<HttpRoute>> routes_;
  beast::flat_buffer buffer_{kMaxRequestBytes};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  std::array<char, 4096> discard_;
};

HttpServer::HttpServer(boost::asio::io_context& io,
                       std::vector<HttpRoute> routes, std::string option)
    : routes_(std::make_shared<const std::vector<HttpRoute>>(std::move(routes))),
      option_(std::move(option)),
      acceptor_(io),
      accept_backoff_(io) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const ListenAddress& address) {
  const std::string where = address.host + ":" + std::to_string(address.port);
  const auto failed = [&](const char* step,
                          const boost::system::error_code& error) {
    return Status(ErrorCode::kInternal,
                  option_ + " " + where + ": " + step + ": " + error.message());
  };
  boost::system::error_code error;
  const tcp::endpoint endpoint(
      boost::asio::ip::make_address(address.host, error), address.port);
  if (error) return failed("bad address", error);
  if (acceptor_.open(endpoint.protocol(), error))
    return failed("socket", error);
  KeepFromChildren(acceptor_.native_handle());
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), error)) {
    return failed("SO_REUSEADDR", error);
  }
  if (acceptor_.bind(endpoint, error)) return failed("bind", error);
  if (acceptor_.listen(boost::asio::socket_base::max_listen_connections,
                       error)) {
    return failed("listen", error);
  }
  Accept();
  return Status::Ok();
}

tcp::endpoint HttpServer::local_endpoint() const {
  boost::system::error_code ignored;
  return acceptor_.local_endpoint(ignored);
}

size_t HttpServer::OpenSessions() {
  std::erase_if(sessions_, [](const std::weak_ptr<Session>& session) {
    return session.expired();
  });
  return sessions_.size();
}

void HttpServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error,
                                tcp::socket socket) {
    if (error == boost::asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (!error) {
      if (OpenSessions() >= kMaxConnections) {
        TP_LOG(kWarning) << "http: " << kMaxConnections
                         << " HTTP connections already open; closing a new one";
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        KeepFromChildren(socket.native_handle());
        auto session = std::make_shared<Session>(std::move(socket), routes_);
        sessions_.push_back(session);
        session->Start();
      }
    } else {
      // EMFILE and the like: keep serving the ones we have, and try again
      // a little later rather than spinning on the same error.
      TP_LOG(kWarning) << "http: accept failed: " << error.message();
      accept_backoff_.expires_after(std::chrono::milliseconds(100));
      accept_backoff_.async_wait(
          [this](const boost::system::error_code& cancelled) {
            if (!cancelled) Accept();
          });
      return;
    }
    Accept();
  });
}

void HttpServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_backoff_.cancel();
  for (const std::weak_ptr<Session>& weak : sessions_) {
    if (const std::shared_ptr<Session> session = weak.lock()) session->Close();
  }
  sessions_.clear();
}

}  // namespace taskpool::daemon
