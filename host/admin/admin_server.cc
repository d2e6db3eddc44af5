#include "admin/admin_server.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace streams::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kRequestTimeout = std::chrono::seconds(10);

// Who may ask what: with a token, requests carry it, but those open() lets by.
struct Access {
  std::string token;
  bool metrics_without_token = false;
};

// One connection: read a request, answer it, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handler& handler, const Access& access)
      : stream_(std::move(socket)), handler_(handler), access_(access) {}

  void start() {
    parser_.body_limit(64 * 1024);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const auto& req = parser_.get();
    if (!open(req) && !authorized(req[http::field::authorization])) {
      return respond({401, R"({"error": "a valid Authorization: Bearer token is required"})"});
    }
    handler_(std::string(req.method_string()), std::string(req.target()),
             [self = shared_from_this()](Response r) {
               asio::post(self->stream_.get_executor(),
                          [self, r = std::move(r)]() mutable { self->respond(std::move(r)); });
             });
  }

  void respond(Response r) {
    const auto& req = parser_.get();
    response_.version(req.version());
    response_.result(r.status);
    response_.set(http::field::content_type, r.content_type);
    response_.keep_alive(false);
    response_.body() = r.body;
    if (r.body.empty() || r.body.back() != '\n') response_.body().push_back('\n');
    response_.prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  // GET /livez and /readyz answer without the token: orchestrators' probes
  // (Kubernetes' httpGet) send none, and they tell only whether the host is
  // live or ready, and why not. GET /metrics does when the operator says so
  // (a Prometheus scraping pods sends none either).
  bool open(const http::request<http::string_body>& req) const {
    if (req.method() != http::verb::get) return false;
    const beast::string_view target = req.target();
    return target == "/livez" || target == "/readyz" ||
           (access_.metrics_without_token && target == "/metrics");
  }

  // Compares in constant time, so the answer's timing tells nothing.
  bool authorized(beast::string_view header) const {
    if (access_.token.empty()) return true;
    const std::string want = "Bearer " + access_.token;
    if (header.size() != want.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      diff |= static_cast<unsigned char>(header[i] ^ want[i]);
    }
    return diff == 0;
  }

  beast::tcp_stream stream_;
  const Handler& handler_;
  const Access& access_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

class Server final : public AdminServer {
 public:
  Server(asio::io_context& io, Access access, Handler handler)
      : acceptor_(io), access_(std::move(access)), handler_(std::move(handler)) {}

  bool listen(const std::string& address, uint16_t port, std::string* error) {
    beast::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) {
      *error = "admin address '" + address + "': " + ec.message();
      return false;
    }
    const tcp::endpoint at(ip, port);
    if (acceptor_.open(at.protocol(), ec) ||
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec) ||
        acceptor_.bind(at, ec) || acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
      *error = "admin endpoint " + address + ":" + std::to_string(port) + ": " + ec.message();
      return false;
    }
    accept();
    return true;
  }
  uint16_t port() const override { return acceptor_.local_endpoint().port(); }
  void set_token(std::string token) override {
    if (!token.empty()) access_.token = std::move(token);  // never opens the endpoint
  }

 private:
  // An accept error (no file descriptors left, say) is retried after a
  // pause, so the loop does not spin.
  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        std::make_shared<Session>(std::move(socket), handler_, access_)->start();
        return accept();
      }
      backoff_.expires_after(std::chrono::milliseconds(100));
      backoff_.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
    });
  }

  tcp::acceptor acceptor_;
  asio::steady_timer backoff_{acceptor_.get_executor()};
  Access access_;
  Handler handler_;
};

}  // namespace

std::unique_ptr<AdminServer> AdminServer::start(asio::io_context& io, const std::string& address,
                                                uint16_t port, std::string token,
                                                bool metrics_without_token, Handler handler,
                                                std::string* error) {
  auto server = std::make_unique<Server>(io, Access{std::move(token), metrics_without_token},
                                         std::move(handler));
  if (!server->listen(address, port, error)) return nullptr;
  return server;
}

bool is_loopback(const std::string& address) {
  if (address == "localhost") return true;
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  return !ec && ip.is_loopback();
}

Response request(const std::string& address, uint16_t port, const std::string& method,
                 const std::string& target, int timeout_ms, const std::string& token) {
  Response out;
  out.status = 0;
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    out.body = "bad address '" + address + "': " + ec.message();
    return out;
  }
  // Asynchronous operations, so that the stream's deadline applies to each.
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, address);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  auto failed = [&](beast::error_code e, const char* what) {
    if (e)
      out.body =
          std::string(what) + " " + address + ":" + std::to_string(port) + ": " + e.message();
    return static_cast<bool>(e);
  };
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.async_connect(tcp::endpoint(ip, port), [&](beast::error_code e) {
    if (failed(e, "cannot connect to")) return;
    http::async_write(stream, req, [&](beast::error_code e, size_t) {
      if (failed(e, "cannot send to")) return;
      http::async_read(stream, buffer, res, [&](beast::error_code e, size_t) {
        if (failed(e, "no answer from")) return;
        out.status = res.result_int();
        out.body = std::move(res.body());
      });
    });
  });
  io.run();
  return out;
}

}  // namespace streams::admin
