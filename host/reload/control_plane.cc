#include "reload/control_plane.h"

#include <pthread.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "admin/admin_server.h"
#include "admin/health_watch.h"
#include "admin/state_request.h"
#include "common/clock.h"
#include "common/host_signals.h"
#include "common/log.h"
#include "metrics/exporters.h"
#include "metrics/prometheus.h"
#include "reload/log_levels.h"

namespace streams::reload {
namespace {

namespace asio = boost::asio;

// An io_context with its own named thread (shown in thread dumps).
class Loop {
 public:
  explicit Loop(const char* name) : name_(name), work_(io_.get_executor()) {}
  ~Loop() { stop(); }
  asio::io_context& io() { return io_; }
  void run() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), name_);
      io_.run();
    });
  }
  void stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const char* name_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

admin::Response reload_response(const ReloadResult& r) {
  return {r.outcome == ReloadResult::Outcome::refused ? 409u : 200u, to_json(r)};
}

// Answers POST /reload once: with the reload's result, or, when the reload
// has not finished a second after its own bound, with a refusal saying what
// it is doing (the reload, once done, is refused too: it passed its bound).
class PendingReload : public std::enable_shared_from_this<PendingReload> {
 public:
  // `run` reloads, on the control thread.
  PendingReload(ReloadController& controller, std::function<ReloadResult()> run, admin::Reply reply,
                asio::io_context& admin_io)
      : controller_(controller), run_(std::move(run)), reply_(std::move(reply)), timer_(admin_io) {}

  void start(asio::io_context& control_io) {
    timer_.expires_after(controller_.timeout() + std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      const std::string doing = self->controller_.activity();
      self->answer({409, R"({"outcome": "refused", "error": "the reload did not finish within )" +
                             std::to_string(self->controller_.timeout().count()) + " ms" +
                             (doing.empty() ? "" : "; " + doing) + "\"}"});
    });
    asio::post(control_io, [self = shared_from_this()] {
      const ReloadResult r = self->run_();
      self->answer(reload_response(r));
    });
  }

 private:
  void answer(admin::Response r) {
    if (answered_.exchange(true)) return;
    timer_.cancel();
    reply_(std::move(r));
  }

  ReloadController& controller_;
  std::function<ReloadResult()> run_;
  admin::Reply reply_;
  asio::steady_timer timer_;
  std::atomic<bool> answered_{false};
};

class Control final : public ControlPlane {
 public:
  explicit Control(ReloadController& controller)
      : controller_(controller), signals_(control_.io(), SIGHUP) {}
  ~Control() override {
    admin_loop_.stop();
    control_.stop();
  }

  bool start(const ControlOptions& o, std::string* error) {
    error->clear();
    options_ = o;
    if (o.metrics) {
      health_ = std::make_unique<admin::Health>(*o.metrics, o.health);
      watch_ = std::make_unique<admin::HealthWatch>(o.health.not_ready_error_ms);
      watch_timer_ = std::make_unique<asio::steady_timer>(admin_loop_.io());
      arm_watch();
      exporter_ = metrics::start_exporter(control_.io(), o.exporter, *o.metrics, error);
      if (!exporter_ && !error->empty()) return false;
    }
    log_levels_ = std::make_unique<LogLevels>(admin_loop_.io(), log::level());
    if (!o.admin_address.empty() && !start_admin(o, error)) return false;
    if (admin_ && o.read_token) {
      token_timer_ = std::make_unique<asio::steady_timer>(control_.io());
      arm_token_check();
    }
    if (o.watch && !watch(o.watch(), error)) return false;
    on_sighup();
    if (signals::take_held_sighup()) {  // it came during the start-up
      asio::post(control_.io(), [this] {
        if (options_.reopen_files) options_.reopen_files();
        reload("SIGHUP (during start-up)");
      });
    }
    control_.run();
    admin_loop_.run();
    return true;
  }

 private:
  bool start_admin(const ControlOptions& o, std::string* error) {
    if (o.admin_token.empty() && !admin::is_loopback(o.admin_address)) {
      *error = "the admin endpoint on " + o.admin_address +
               " is reachable from other machines: give it a token (--admin-token-file or "
               "STREAMS_ADMIN_TOKEN), or bind it to 127.0.0.1";
      return false;
    }
    token_ = o.admin_token;
    admin_ = admin::AdminServer::start(
        admin_loop_.io(), o.admin_address, o.admin_port, o.admin_token, o.metrics_without_token,
        [this](const std::string& method, const std::string& target, admin::Reply reply) {
          serve(method, target, std::move(reply));
        },
        error);
    if (!admin_) return false;
    log::info("admin endpoint on http://" + o.admin_address + ":" + std::to_string(admin_->port()) +
              (o.admin_token.empty()     ? ""
               : o.metrics_without_token ? " (token required, but for /metrics)"
                                         : " (token required)") +
              " (GET /status, /metrics, /livez, /readyz, /state/..., /log-level; POST /reload, "
              "/reopen, /pause, /resume, /log-level/LEVEL)");
    return true;
  }

  // On the admin thread. Everything but POST /reload answers from what the
  // other threads publish (counters, health, status) without waiting on them.
  void serve(const std::string& method, const std::string& target, admin::Reply reply) {
    const metrics::PipelineMetrics* metrics = options_.metrics;
    if (metrics && (target == "/metrics" || target == "/livez" || target == "/readyz")) {
      if (method != "GET") return reply({405, "{\"error\": \"use GET " + target + "\"}"});
      if (target == "/metrics") {
        return reply({200, metrics::prometheus_text(*metrics), "text/plain; version=0.0.4"});
      }
      const admin::HealthAnswer a = target == "/livez" ? health_->live() : health_->ready();
      return reply({a.ok ? 200u : 503u, a.body});
    }
    if (target == "/status") {
      if (method != "GET") return reply({405, R"({"error": "use GET /status"})"});
      return reply({200, controller_.status_json()});
    }
    if (target == "/reload") {
      if (method != "POST") return reply({405, R"({"error": "use POST /reload"})"});
      std::make_shared<PendingReload>(
          controller_, [this] { return reload("admin"); }, std::move(reply), admin_loop_.io())
          ->start(control_.io());
      return;
    }
    if (admin::is_state_target(target)) {
      if (method != "GET") return reply({405, R"({"error": "use GET /state/..."})"});
      pipeline::StateQuery q;
      std::string error;
      if (!admin::parse_state_target(target, &q, &error)) {
        return reply({400, nlohmann::json{{"error", error}}.dump()});
      }
      if (!options_.query_state) return reply({404, R"({"error": "this host keeps no state"})"});
      return options_.query_state(std::move(q), [reply](pipeline::StateAnswer a) {
        reply({a.status, std::move(a.body)});
      });
    }
    if (target == "/reopen") {
      if (method != "POST") return reply({405, R"({"error": "use POST /reopen"})"});
      if (options_.reopen_files) options_.reopen_files();
      return reply({202, R"({"reopen": "requested"})"});
    }
    if (LogLevels::is_target(target)) return reply(log_levels_->serve(method, target));
    if (target == "/pause" || target == "/resume") {
      if (method != "POST") return reply({405, "{\"error\": \"use POST " + target + "\"}"});
      if (!options_.pause) return reply({404, R"({"error": "this host cannot be paused"})"});
      return reply({200, options_.pause(target == "/pause")});
    }
    reply({404, R"({"error": "unknown endpoint; try GET /status, /metrics, /livez, /readyz, )"
                R"(/state/STEP/PARTITION/KEY, /log-level or POST /reload, /reopen, /pause, )"
                R"(/resume, /log-level/LEVEL"})"});
  }

  // On the admin thread, as health_'s other caller.
  void arm_watch() {
    watch_timer_->expires_after(std::chrono::milliseconds(watch_->period_ms()));
    watch_timer_->async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const int64_t now = steady_ms();
      const admin::HealthAnswer ready = health_->ready();
      if (auto line = watch_->observe(ready, now)) log::write(line->level, line->text);
      options_.metrics->ready.set(ready.ok ? 1 : 0);
      options_.metrics->not_ready_ms.set(static_cast<uint64_t>(watch_->not_ready_ms(now)));
      arm_watch();
    });
  }

  // On the control thread: a reload, after the token file is read again;
  // one that applied may change what is watched.
  ReloadResult reload(const std::string& trigger) {
    refresh_token(/*quiet_if_same=*/false);
    ReloadResult r = controller_.reload(trigger);
    if (watcher_ && r.outcome == ReloadResult::Outcome::applied) {
      // Posted: this may run in the watcher's own callback.
      const auto since =
          std::chrono::system_clock::time_point(std::chrono::milliseconds(r.requested_ms));
      asio::post(control_.io(), [this, specs = options_.watch(), since]() mutable {
        std::string error;
        if (!watch(std::move(specs), &error, since)) {
          log::warn("file watch: " + error + ": the files of the generation before stay watched");
        }
      });
    }
    return r;
  }

  // Watches `specs`, unless they are those watched: the new watcher is
  // made before the old one goes, so no change falls between them. The
  // files it watches that the old did not, a reload begun at `since` read:
  // a change of one after that is a change.
  bool watch(std::vector<WatchSpec> specs, std::string* error,
             std::optional<std::chrono::system_clock::time_point> since = std::nullopt) {
    using Key = std::tuple<std::string, std::string, std::string, bool>;
    const auto key = [](const WatchSpec& w) -> Key {
      return {w.dir, w.name, w.suffix, w.descend != nullptr};
    };
    std::set<Key> old, now;
    for (const WatchSpec& w : watched_) old.insert(key(w));
    for (const WatchSpec& w : specs) now.insert(key(w));
    if (watcher_ && old == now) return true;
    if (specs.empty()) return true;
    auto watcher = FileWatcher::start(
        control_.io(), specs, std::chrono::milliseconds(options_.quiet_ms),
        [this](const std::string& names) { reload("file change: " + names); }, error);
    if (!watcher) return false;
    // What changed while the reload ran, the one before has not reported.
    if (const std::string pending = watcher_ ? watcher_->take_pending() : ""; !pending.empty()) {
      asio::post(control_.io(), [this, pending] { reload("file change: " + pending); });
    }
    if (since) {
      // A file's times come from a clock that may lag by a tick.
      watcher->report_changed_since(*since - std::chrono::milliseconds(kClockTickMs),
                                    [&](const WatchSpec& w) { return old.count(key(w)) == 0; });
    }
    std::vector<std::string> watching;
    std::string what;
    for (const WatchSpec& w : specs) {
      watching.push_back(w.describe());
      what += (what.empty() ? "" : ", ") + watching.back();
    }
    log::info(std::string("reloads on a change of") +
              (watcher_ ? " (the new generation's files): " : ": ") + what);
    controller_.set_watching(std::move(watching));
    watcher_ = std::move(watcher);
    watched_ = std::move(specs);
    return true;
  }

  // The token file is read again every kTokenCheckMs too, so a rotated
  // Secret is taken without a reload (rendered pods do not watch files).
  void arm_token_check() {
    token_timer_->expires_after(std::chrono::milliseconds(kTokenCheckMs));
    token_timer_->async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      refresh_token(/*quiet_if_same=*/true);
      arm_token_check();
    });
  }

  // A rotated token file's new token replaces the old (on the admin
  // thread, where requests are checked); a file that holds none now keeps
  // the old one: the endpoint never opens by accident. On the control
  // thread. `quiet_if_same`: a failure already logged is not logged again.
  void refresh_token(bool quiet_if_same) {
    if (!options_.read_token || !admin_) return;
    std::string token, error;
    if (!options_.read_token(&token, &error)) {
      if (!quiet_if_same || error != token_error_) {
        log::warn("admin endpoint: " + error + "; it keeps the token it had");
      }
      token_error_ = error;
      return;
    }
    token_error_.clear();
    if (token == token_) return;
    token_ = token;
    asio::post(admin_loop_.io(), [this, token] { admin_->set_token(token); });
    log::info("admin endpoint: the token was replaced (its file changed)");
  }

  void on_sighup() {
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      if (options_.reopen_files) options_.reopen_files();
      reload("SIGHUP");
      on_sighup();
    });
  }

  ReloadController& controller_;
  ControlOptions options_;
  static constexpr int kTokenCheckMs = 2000;
  static constexpr int kClockTickMs = 10;  // file times' coarse clock: 4 ms a tick at HZ=250
  std::string token_;                      // as the admin server has it; the control thread's copy
  std::string token_error_;  // why the token file was last refused; empty: it was read
  // The admin loop outlives the control loop: a reload posted to the control
  // loop holds a timer of the admin loop.
  Loop admin_loop_{"streams-admin"};
  Loop control_{"streams-control"};
  asio::signal_set signals_;
  std::unique_ptr<admin::Health> health_;
  std::unique_ptr<admin::HealthWatch> watch_;
  std::unique_ptr<asio::steady_timer> watch_timer_;
  std::unique_ptr<asio::steady_timer> token_timer_;  // on the control loop
  std::unique_ptr<metrics::Exporter> exporter_;
  std::unique_ptr<LogLevels> log_levels_;  // served on the admin thread
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<FileWatcher> watcher_;
  std::vector<WatchSpec> watched_;
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
