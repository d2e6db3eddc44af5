#include "metrics/exporters.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string_view>

#include "common/log.h"

namespace streams::metrics {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;

constexpr size_t kDatagram = 1400;  // stays under a typical MTU

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// "name{k=v,...}": identifies a sample across snapshots.
std::string sample_key(const Sample& s) {
  std::string key = s.name;
  for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
  return key;
}

// Calls `send` every period with the current snapshot and the previous one.
class Periodic : public Exporter {
 public:
  Periodic(asio::io_context& io, const config::MetricsDeployment& config,
           const PipelineMetrics& metrics)
      : config_(config), timer_(io), metrics_(metrics) {}
  void start() { arm(); }

 protected:
  virtual void send(const std::vector<Sample>& now, const std::vector<Sample>& before) = 0;
  const config::MetricsDeployment config_;

 private:
  void arm() {
    timer_.expires_after(std::chrono::microseconds(static_cast<int64_t>(config_.period_sec * 1e6)));
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      std::vector<Sample> now = snapshot(metrics_);
      send(now, previous_);
      previous_ = std::move(now);
      arm();
    });
  }

  asio::steady_timer timer_;
  const PipelineMetrics& metrics_;
  std::vector<Sample> previous_;
};

class LogExporter final : public Periodic {
 public:
  using Periodic::Periodic;

 private:
  void send(const std::vector<Sample>& now, const std::vector<Sample>&) override {
    std::string line = "metrics:";
    for (const Sample& s : now) {
      line += " ";
      line += s.name;
      std::string labels;
      for (const auto& [k, v] : s.labels) {
        if (k != "pipeline") labels += (labels.empty() ? "" : ",") + k + "=" + v;
      }
      if (!labels.empty()) line += "{" + labels + "}";
      line += s.buckets.empty() ? "=" + number(s.value)
                                : "=" + number(s.value) + " observations, sum " + number(s.sum);
    }
    log::info(line);
  }
};

class DogStatsd final : public Periodic {
 public:
  DogStatsd(asio::io_context& io, const config::MetricsDeployment& config,
            const PipelineMetrics& metrics)
      : Periodic(io, config, metrics), socket_(io) {}

  bool open(std::string* error) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(config_.host, ec);
    if (!ec) socket_.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
    if (ec) {
      *error = "metrics: DogStatsD at " + config_.host + ":" + std::to_string(config_.port) + ": " +
               ec.message();
      return false;
    }
    to_ = udp::endpoint(address, static_cast<uint16_t>(config_.port));
    return true;
  }

 private:
  void send(const std::vector<Sample>& now, const std::vector<Sample>& before) override {
    std::string packet;
    std::vector<std::string> lines = dogstatsd_lines(now, before, config_);
    const auto bound = static_cast<size_t>(config_.udp_queue_size);
    if (bound > 0 && lines.size() > bound) {  // the original's udp_queue_size
      uint64_t suppressed = 0;
      if (log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
        log::warn("metrics: " + std::to_string(lines.size() - bound) +
                  " DogStatsD line(s) over udp_queue_size " + std::to_string(bound) +
                  " dropped this period" + log::RateLimitedLog::note(suppressed));
      }
      lines.resize(bound);
    }
    for (const std::string& line : lines) {
      if (!packet.empty() && packet.size() + 1 + line.size() > kDatagram) flush(packet);
      if (!packet.empty()) packet += "\n";
      packet += line;
    }
    flush(packet);
  }
  void flush(std::string& packet) {
    if (packet.empty()) return;
    boost::system::error_code ec;  // UDP: a lost datagram is lost; say so, rate-limited
    socket_.send_to(asio::buffer(packet), to_, 0, ec);
    uint64_t suppressed = 0;
    if (ec && log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
      log::warn("metrics: DogStatsD send failed: " + ec.message() +
                log::RateLimitedLog::note(suppressed));
    }
    packet.clear();
  }

  udp::socket socket_;
  udp::endpoint to_;
  log::RateLimitedLog log_{1};
};

// Sentry Streams' DogStatsD name of a metric that has a counterpart here.
struct OriginalName {
  const char* ours;
  const char* name;
  const char* type;  // "c", or "h": the original's is a histogram, one value a commit
};

const OriginalName kOriginalNames[] = {
    {"step_records_in_total", "streams.pipeline.input.messages", "c"},
    {"step_records_out_total", "streams.pipeline.output.messages", "c"},
    {"step_errors_total", "streams.pipeline.errors", "c"},
    {"commit_latency_seconds", "streams.pipeline.consumer.latency_sec", "h"},
};

const OriginalName* original_name(const std::string& ours) {
  for (const OriginalName& o : kOriginalNames) {
    if (ours == o.ours) return &o;
  }
  return nullptr;
}

// A histogram's observations since `before` (null, or other buckets: from
// zero) as DogStatsD distribution values, one line a bucket that gained
// any, weighed by its count through the sample rate (the agent counts a
// value 1/rate times). A value stands for its bucket: the period's mean
// when one bucket gained them all; else the bucket's midpoint (the first
// from 0), and above the last bound the rest of the period's sum, at least
// that bound. Percentiles come out at the buckets' resolution, as
// Prometheus's histogram_quantile gives them.
void add_distribution(const Sample& s, const Sample* before, const std::string& name,
                      const std::string& tags, std::vector<std::string>* lines) {
  const size_t n_buckets = s.buckets.size();
  bool from_zero = before == nullptr || before->buckets.size() != n_buckets;
  for (size_t i = 0; !from_zero && i < n_buckets; ++i) {
    from_zero = s.buckets[i] < before->buckets[i];  // a new series under the same key
  }
  std::vector<uint64_t> gained(n_buckets);
  size_t buckets_gained = 0, last = 0;
  for (size_t i = 0; i < n_buckets; ++i) {
    gained[i] = s.buckets[i] - (from_zero ? 0 : before->buckets[i]);
    if (gained[i] > 0) ++buckets_gained, last = i;
  }
  if (buckets_gained == 0) return;
  const double sum = s.sum - (from_zero ? 0 : before->sum);
  const auto line = [&](double value, uint64_t count) {
    std::string text = name + ":" + number(value) + "|d";
    if (count > 1) {  // a rate a hair under 1/count: 1/rate is not read as count - 1
      char rate[32];
      std::snprintf(rate, sizeof rate, "|@%.12g", (1.0 / static_cast<double>(count)) * (1 - 1e-9));
      text += rate;
    }
    lines->push_back(text + tags);
  };
  if (buckets_gained == 1) return line(sum / static_cast<double>(gained[last]), gained[last]);
  const std::vector<double>& bounds = s.bounds;
  double rest = sum;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (gained[i] == 0) continue;
    const double lower = i == 0 ? std::min(0.0, bounds[0]) : bounds[i - 1];
    const double mid = (lower + bounds[i]) / 2;
    rest -= mid * static_cast<double>(gained[i]);
    line(mid, gained[i]);
  }
  const uint64_t above = gained[bounds.size()];
  if (above > 0) line(std::max(bounds.back(), rest / static_cast<double>(above)), above);
}

}  // namespace

std::vector<std::string> dogstatsd_lines(const std::vector<Sample>& samples,
                                         const std::vector<Sample>& previous,
                                         const config::MetricsDeployment& config) {
  std::map<std::string, const Sample*> before;
  for (const Sample& s : previous) before[sample_key(s)] = &s;
  const auto earlier = [&](const Sample& s) -> const Sample* {
    auto it = before.find(sample_key(s));
    return it == before.end() ? nullptr : it->second;
  };
  const auto increase = [&](const Sample& s) {
    const Sample* b = earlier(s);
    return s.value - (b ? b->value : 0);
  };
  bool committed = false;  // this period: the original sends a latency a commit
  for (const Sample& s : samples)
    committed = committed || (std::string_view(s.name) == "commits_total" && increase(s) > 0);
  std::string common;
  for (const auto& [k, v] : config.tags) common += (common.empty() ? "" : ",") + k + ":" + v;
  const auto tags_of = [&](const Sample& s, bool original) {
    std::string tags = common;
    for (const auto& [k, v] : s.labels) {
      // The original tags its errors' kind error_type.
      const std::string key = original && k == "error" ? "error_type" : k;
      tags += (tags.empty() ? "" : ",") + key + ":" + v;
    }
    return tags.empty() ? tags : "|#" + tags;
  };
  std::vector<std::string> lines;
  for (const Sample& s : samples) {
    if (!s.buckets.empty()) {
      if (config.streams_names) {
        add_distribution(s, earlier(s), std::string("streams.") + s.name, tags_of(s, false),
                         &lines);
      }
      continue;
    }
    const double value = s.counter ? increase(s) : s.value;
    if (s.counter && value <= 0) continue;  // nothing new to count
    if (config.streams_names) {
      std::string name = s.name;
      if (name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0) {
        name.resize(name.size() - 6);
      }
      lines.push_back("streams." + name + ":" + number(value) + (s.counter ? "|c" : "|g") +
                      tags_of(s, false));
    }
    const OriginalName* o = config.original_names ? original_name(s.name) : nullptr;
    if (o && (s.counter || committed)) {
      lines.push_back(std::string(o->name) + ":" + number(value) + "|" + o->type +
                      tags_of(s, true));
    }
  }
  return lines;
}

namespace {

// Names the exporter's destination in its start line.
std::string which_names(const config::MetricsDeployment& c) {
  return c.original_names
             ? (c.streams_names ? " (streams and original names)" : " (original names)")
             : "";
}

}  // namespace

std::unique_ptr<Exporter> start_exporter(asio::io_context& io,
                                         const config::MetricsDeployment& config,
                                         const PipelineMetrics& metrics, std::string* error) {
  using Type = config::MetricsDeployment::Type;
  if (config.type == Type::log) {
    auto e = std::make_unique<LogExporter>(io, config, metrics);
    e->start();
    return e;
  }
  if (config.type == Type::datadog) {
    auto e = std::make_unique<DogStatsd>(io, config, metrics);
    if (!e->open(error)) return nullptr;
    e->start();
    log::info("metrics: DogStatsD to " + config.host + ":" + std::to_string(config.port) +
              " every " + number(config.period_sec) + " s" + which_names(config));
    return e;
  }
  return nullptr;
}

}  // namespace streams::metrics
