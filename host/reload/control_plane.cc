#include "reload/control_plane.h"

#include <pthread.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <thread>

#include "admin/admin_server.h"
#include "common/log.h"
#include "metrics/exporters.h"
#include "metrics/prometheus.h"

namespace streams::reload {
namespace {

namespace asio = boost::asio;

admin::Response serve(ReloadController& controller, const ControlOptions& o, admin::Health* health,
                      const std::string& method, const std::string& target) {
  const metrics::PipelineMetrics* metrics = o.metrics;
  if (metrics && (target == "/metrics" || target == "/livez" || target == "/readyz")) {
    if (method != "GET") return {405, "{\"error\": \"use GET " + target + "\"}"};
    if (target == "/metrics") {
      return {200, metrics::prometheus_text(*metrics), "text/plain; version=0.0.4"};
    }
    const admin::HealthAnswer a = target == "/livez" ? health->live() : health->ready();
    return {a.ok ? 200u : 503u, a.body};
  }
  if (target == "/status") {
    if (method != "GET") return {405, R"({"error": "use GET /status"})"};
    return {200, controller.status_json()};
  }
  if (target == "/reload") {
    if (method != "POST") return {405, R"({"error": "use POST /reload"})"};
    const ReloadResult r = controller.reload("admin");
    return {r.outcome == ReloadResult::Outcome::refused ? 409u : 200u, to_json(r)};
  }
  if (target == "/reopen") {
    if (method != "POST") return {405, R"({"error": "use POST /reopen"})"};
    if (o.reopen_files) o.reopen_files();
    return {202, R"({"reopen": "requested"})"};
  }
  return {404, R"({"error": "unknown endpoint; try GET /status, /metrics, /livez, /readyz or POST )"
               R"(/reload, /reopen"})"};
}

class Control final : public ControlPlane {
 public:
  explicit Control(ReloadController& controller)
      : controller_(controller), signals_(io_, SIGHUP), work_(io_.get_executor()) {}
  ~Control() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool start(const ControlOptions& o, std::string* error) {
    error->clear();
    options_ = o;
    if (o.metrics) {
      health_ = std::make_unique<admin::Health>(*o.metrics, o.health);
      exporter_ = metrics::start_exporter(io_, o.exporter, *o.metrics, error);
      if (!exporter_ && !error->empty()) return false;
    }
    if (!o.admin_address.empty()) {
      if (o.admin_token.empty() && !admin::is_loopback(o.admin_address)) {
        *error = "the admin endpoint on " + o.admin_address +
                 " is reachable from other machines: give it a token (--admin-token-file or "
                 "STREAMS_ADMIN_TOKEN), or bind it to 127.0.0.1";
        return false;
      }
      admin_ = admin::AdminServer::start(
          io_, o.admin_address, o.admin_port, o.admin_token,
          [this](const std::string& method, const std::string& target) {
            return serve(controller_, options_, health_.get(), method, target);
          },
          error);
      if (!admin_) return false;
      log::info("admin endpoint on http://" + o.admin_address + ":" +
                std::to_string(admin_->port()) +
                (o.admin_token.empty() ? "" : " (token required)") +
                " (GET /status, /metrics, /livez, /readyz; POST /reload, /reopen)");
    }
    if (!o.watch.empty()) {
      watcher_ = FileWatcher::start(
          io_, o.watch, std::chrono::milliseconds(o.quiet_ms),
          [this](const std::string& names) { controller_.reload("file change: " + names); }, error);
      if (!watcher_) return false;
    }
    on_sighup();
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "streams-control");  // named in thread dumps
      io_.run();
    });
    return true;
  }

 private:
  void on_sighup() {
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      if (options_.reopen_files) options_.reopen_files();
      controller_.reload("SIGHUP");
      on_sighup();
    });
  }

  ReloadController& controller_;
  ControlOptions options_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<admin::Health> health_;
  std::unique_ptr<metrics::Exporter> exporter_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<FileWatcher> watcher_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ControlPlane> ControlPlane::start(ReloadController& controller,
                                                  const ControlOptions& options,
                                                  std::string* error) {
  auto control = std::make_unique<Control>(controller);
  if (!control->start(options, error)) return nullptr;
  return control;
}

}  // namespace streams::reload
