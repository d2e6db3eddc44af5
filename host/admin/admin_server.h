// The admin HTTP endpoint (control plane): a small HTTP/1.1 server on its
// own io_context (and thread), one request per connection. What it serves
// is the handler's business (see reload/control_plane.h).
//
// Thread: everything runs on the io_context's thread. The handler answers
// through `reply`, at once or later from any thread (a reload), so one slow
// answer never holds up the others.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace streams::admin {

struct Response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// Called once per request with its answer; any thread.
using Reply = std::function<void(Response)>;
using Handler =
    std::function<void(const std::string& method, const std::string& target, Reply reply)>;

class AdminServer {
 public:
  // Listens on `address`:`port` (0: a free port). With a `token`, every
  // request must carry "Authorization: Bearer TOKEN" (else 401), but GET
  // /livez and /readyz, and GET /metrics when `metrics_without_token`. Null
  // with *error if it cannot. `io` must outlive the server.
  static std::unique_ptr<AdminServer> start(boost::asio::io_context& io, const std::string& address,
                                            uint16_t port, std::string token,
                                            bool metrics_without_token, Handler handler,
                                            std::string* error);
  virtual ~AdminServer() = default;
  // The port it listens on.
  virtual uint16_t port() const = 0;
  // Requests from now on must carry `token` (not empty). On `io`'s thread.
  virtual void set_token(std::string token) = 0;
};

// A client for `streams-host reload` and `status`: sends `method` `target`
// to 127.0.0.1-style `address`:`port` and returns the response, or status 0
// with the reason in the body when there is none within `timeout_ms`.
Response request(const std::string& address, uint16_t port, const std::string& method,
                 const std::string& target, int timeout_ms, const std::string& token = "");

// True for 127.0.0.0/8, ::1 and "localhost": an address only this machine
// reaches, where the admin endpoint needs no token.
bool is_loopback(const std::string& address);

}  // namespace streams::admin
