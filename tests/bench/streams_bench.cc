// streams-bench: the measuring tools behind tests/bench/run_bench.py.
//
//   produce  fill a topic with N messages (as fast as possible, or at a rate)
//   relay    the ceiling: a plain librdkafka consume->produce loop with the
//            host's client settings and no processing; with --inline
//            simple_map_filter, the hand-written program a user would write
//            for that job (the plugin's parse, filter and map code, called
//            inline, one parse a record)
//   watch    throughput, CPU and peak RSS of a process turning a topic into
//            another, from the output topic's watermarks and /proc
//   latency  end-to-end latency: consume time minus the record's timestamp
//
// Every subcommand prints one JSON object on stdout.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ingest_metric.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "streams-bench: %s\n", message.c_str());
  std::exit(1);
}

using Props = std::vector<std::pair<std::string, std::string>>;

// librdkafka's statistics (when --set gives a statistics.interval.ms),
// appended one JSON a line to the file STREAMS_BENCH_STATS_FILE names: what a
// client did (message sets, requests), to set beside the host's metrics.
int append_stats(rd_kafka_t*, char* json, size_t len, void*) {
  if (FILE* f = std::fopen(std::getenv("STREAMS_BENCH_STATS_FILE"), "a")) {
    std::fwrite(json, 1, len, f);
    std::fputc('\n', f);
    std::fclose(f);
  }
  return 0;
}

// A client with `props`; any property librdkafka refuses is fatal.
rd_kafka_t* make_client(rd_kafka_type_t type, const Props& props,
                        void (*on_delivery)(rd_kafka_t*, const rd_kafka_message_t*,
                                            void*) = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      die(k + ": " + err);
    }
  }
  if (on_delivery) rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  if (std::getenv("STREAMS_BENCH_STATS_FILE")) rd_kafka_conf_set_stats_cb(conf, &append_stats);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die(err);
  return rk;
}

// A consumer subscribed to `topic`, serving its callbacks on the consumer queue.
rd_kafka_t* make_consumer(const Props& props, const std::string& topic) {
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, props);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  return rk;
}

// A consumer of every partition of `topic` from its beginning, assigned
// directly: no group join to wait for.
rd_kafka_t* make_reader(const Props& props, const std::string& topic) {
  rd_kafka_t* rk = make_client(RD_KAFKA_CONSUMER, props);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, 30000);
  if (err || md->topic_cnt != 1 || md->topics[0].err) die("no metadata for " + topic);
  rd_kafka_topic_partition_list_t* all =
      rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(all, topic.c_str(), md->topics[0].partitions[i].id)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  if (rd_kafka_assign(rk, all)) die("cannot assign " + topic);
  rd_kafka_topic_partition_list_destroy(all);
  return rk;
}

// The producer and consumer settings streams-host uses (kafka_conf.cc).
Props producer_props(const std::string& bootstrap) {
  return {{"bootstrap.servers", bootstrap}, {"enable.idempotence", "true"}, {"linger.ms", "1"}};
}

Props consumer_props(const std::string& bootstrap, const std::string& group) {
  return {{"bootstrap.servers", bootstrap},  {"group.id", group},
          {"auto.offset.reset", "earliest"}, {"enable.auto.offset.store", "false"},
          {"enable.partition.eof", "false"}, {"queued.min.messages", "1000000"},
          {"session.timeout.ms", "6000"},    {"fetch.wait.max.ms", "5"}};
}

// An IngestMetric counter of about 250 bytes, varied by n.
std::string ingest_metric(uint64_t n) {
  char buf[512];
  int len = std::snprintf(
      buf, sizeof buf,
      "{\"org_id\": %llu, \"project_id\": %llu, \"name\": \"c:sessions/session@none\", "
      "\"tags\": {\"sdk\": \"raven-node/2.6.3\", \"environment\": \"production\", "
      "\"release\": \"sentry-test@1.0.%llu\"}, \"timestamp\": %llu, \"type\": \"c\", "
      "\"retention_days\": 90, \"value\": [%llu]}",
      static_cast<unsigned long long>(n % 1000), static_cast<unsigned long long>(n % 97),
      static_cast<unsigned long long>(n % 50), 1846062325ULL + n % 3600,
      static_cast<unsigned long long>(n));
  return std::string(buf, static_cast<size_t>(len));
}

std::atomic<uint64_t> g_delivered{0}, g_failed{0};

void count_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  (m->err ? g_failed : g_delivered).fetch_add(1, std::memory_order_relaxed);
}

int produce(const std::string& bootstrap, const std::string& topic, uint64_t count, size_t size,
            bool json, double rate, uint64_t keys) {
  Props props = producer_props(bootstrap);
  props.emplace_back("queue.buffering.max.messages", "1000000");
  // librdkafka's default linger: shorter ones make the dev broker keep many
  // tiny message sets per partition, and its fetches slow down as they grow.
  props.emplace_back("linger.ms", "5");
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, props, &count_delivery);
  std::string payload(size, 'x');
  auto start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    if (rate > 0 && i == 1) {
      // Paced: the clock starts once the first record was delivered (the
      // producer connected, with its producer id). Started before, the
      // records due during a slow connection went out back to back, and
      // the application took them at full speed: paced runs read up to 25%
      // above the rate, at a lower CPU per record.
      rd_kafka_flush(rk, 60000);
      start = Clock::now();
    }
    if (rate > 0 && i > 0) {
      // Sleep (not spin: the application under test needs the cores) until
      // this record is due; when late, records go out back to back.
      const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>((i - 1) / rate));
      if (Clock::now() < due) std::this_thread::sleep_until(due);
    }
    if (json) payload = ingest_metric(i);
    // Keyed, so records spread evenly: null keys go to one partition for
    // ~10 ms at a time (sticky partitioning) and would overflow the dev
    // broker's per-partition retention.
    char key[24];
    const int key_len = std::snprintf(key, sizeof key, "%llu",
                                      static_cast<unsigned long long>(keys ? i % keys : i));
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key, static_cast<size_t>(key_len)),
          RD_KAFKA_V_VALUE(payload.data(), payload.size()), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die(rd_kafka_err2str(e));
      rd_kafka_poll(rk, 1);
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"produced\": %llu, \"failed\": %llu, \"seconds\": %.3f}\n",
              static_cast<unsigned long long>(g_delivered.load()),
              static_cast<unsigned long long>(g_failed.load()), seconds);
  rd_kafka_destroy(rk);
  return g_failed.load() == 0 ? 0 : 1;
}

std::atomic<bool> g_stop{false};

// Consume->produce with no processing until SIGTERM. Offsets are stored once
// produced and auto-committed every second: a ceiling, simpler than the
// host's commit-after-delivery.
// `extra`: KEY=VALUE librdkafka properties, for exploring settings; a key
// prefixed "consumer." or "producer." goes to that client only.
// The simple_map_filter job inline: keeps valid counters, adds
// "transformed": true. Returns the output value, or an empty view for a
// record dropped (filtered out, or invalid: the host would dead-letter it).
class InlineSimpleMapFilter {
 public:
  std::string_view process(std::string_view json) {
    simdjson::dom::object metric;
    streams::ingest_metric::MetricInfo info;
    const char* why = nullptr;
    if (!reader_.read(json, &metric, &info, &why) || info.type != "c") return {};
    return writer_.transformed(json, metric, info);
  }

 private:
  streams::ingest_metric::IngestMetricReader reader_;
  streams::ingest_metric::MetricWriter writer_;
};

int relay(const std::string& bootstrap, const std::string& in, const std::string& out,
          const std::string& group, const std::vector<std::string>& extra,
          const std::string& inline_job) {
  std::unique_ptr<InlineSimpleMapFilter> job;
  if (inline_job == "simple_map_filter") {
    job = std::make_unique<InlineSimpleMapFilter>();
  } else if (!inline_job.empty()) {
    die("--inline " + inline_job + ": expected simple_map_filter");
  }
  auto pprops = producer_props(bootstrap);
  auto cprops = consumer_props(bootstrap, group);
  for (const auto& kv : extra) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) die("--set " + kv + ": expected KEY=VALUE");
    std::string key = kv.substr(0, eq);
    const std::string value = kv.substr(eq + 1);
    if (key.rfind("consumer.", 0) == 0) {
      cprops.emplace_back(key.substr(9), value);
    } else if (key.rfind("producer.", 0) == 0) {
      pprops.emplace_back(key.substr(9), value);
    } else {
      cprops.emplace_back(key, value);
      pprops.emplace_back(key, value);
    }
  }
  rd_kafka_t* producer = make_client(RD_KAFKA_PRODUCER, pprops, &count_delivery);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, out.c_str(), nullptr);
  rd_kafka_t* consumer = make_consumer(cprops, in);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  std::vector<rd_kafka_message_t*> batch(1024);
  while (!g_stop.load()) {
    // As the host does: block for one message, then take what is queued.
    rd_kafka_message_t* first = rd_kafka_consumer_poll(consumer, 100);
    if (!first) continue;
    batch[0] = first;
    ssize_t n = 1 + std::max<ssize_t>(0, rd_kafka_consume_batch_queue(queue, 0, batch.data() + 1,
                                                                      batch.size() - 1));
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[i];
      std::string_view value(static_cast<const char*>(m->payload), m->len);
      bool keep = true;
      if (!m->err && job) {
        value = job->process(value);
        keep = value.data() != nullptr;
      }
      if (!m->err && !keep) {
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);  // dropped
      } else if (!m->err) {
        // Forwards key, value, headers and timestamp, as the host does; the
        // headers are handed over, the cheapest way librdkafka offers.
        rd_kafka_headers_t* headers = nullptr;
        rd_kafka_message_detach_headers(m, &headers);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_HEADERS(headers),
                    RD_KAFKA_V_TIMESTAMP(rd_kafka_message_timestamp(m, nullptr)),
                    RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer, 1);
        }
        if (e && headers) rd_kafka_headers_destroy(headers);  // not taken over
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 10000);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(producer);
  std::printf("{\"delivered\": %llu}\n", static_cast<unsigned long long>(g_delivered.load()));
  return 0;
}

struct ProcStat {
  double cpu_seconds = 0;
  long rss_peak_kb = 0;
};

ProcStat read_proc(int pid) {
  ProcStat s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) s.rss_peak_kb = std::stol(line.substr(6));
  }
  return s;
}

uint64_t high_watermarks(rd_kafka_t* rk, const std::string& topic, int partitions) {
  uint64_t sum = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000) == 0) sum += hi;
  }
  return sum;
}

// The CPU of `pids` together, and the sum of their peak RSS.
ProcStat read_procs(const std::vector<int>& pids) {
  ProcStat all;
  for (int pid : pids) {
    const ProcStat one = read_proc(pid);
    all.cpu_seconds += one.cpu_seconds;
    all.rss_peak_kb += one.rss_peak_kb;
  }
  return all;
}

// The offsets `group` committed on `topic`'s partitions, summed (-1: some
// partition has none yet).
int64_t committed_sum(rd_kafka_t* consumer, const std::string& topic, int partitions) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  int64_t sum = 0;
  if (rd_kafka_committed(consumer, list, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) sum = -1;
  for (int i = 0; i < list->cnt && sum >= 0; ++i) {
    sum = list->elems[i].offset < 0 ? -1 : sum + list->elems[i].offset;
  }
  rd_kafka_topic_partition_list_destroy(list);
  return sum;
}

// Measures from the first output record (the `from`-th, to leave start-up
// work out) to the `expect`-th: rate, and the CPU the processes `pids` (an
// application of one or more) spent in between.
// With `group` and `input`, the CPU is read once the group has also
// committed every input (a record costs what making it durable costs: a
// stateful application's changelog goes out before its commit).
int watch(const std::string& bootstrap, const std::string& topic, int partitions, uint64_t expect,
          const std::vector<int>& pids, double timeout_s, const std::string& group,
          const std::string& input, uint64_t from) {
  rd_kafka_t* rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}});
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  uint64_t first = 0, done = 0;
  Clock::time_point t0{}, t1{};
  ProcStat s0, s1;
  double commit_s = -1;  // from the last output to the commit of every input
  while (Clock::now() < deadline) {
    const uint64_t now_count = high_watermarks(rk, topic, partitions);
    if (first == 0 && now_count >= std::max<uint64_t>(from, 1)) {
      t0 = Clock::now();
      s0 = read_procs(pids);
      first = now_count;
    }
    if (now_count >= expect) {
      t1 = Clock::now();
      s1 = read_procs(pids);
      done = now_count;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done && !input.empty()) {
    const uint64_t inputs = high_watermarks(rk, input, partitions);
    rd_kafka_t* group_client =
        make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap}, {"group.id", group}});
    bool committed = false;
    while (!committed && Clock::now() < deadline) {
      committed = committed_sum(group_client, input, partitions) >= static_cast<int64_t>(inputs);
      if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    rd_kafka_destroy(group_client);
    if (!committed) die("timed out: group " + group + " did not commit all of " + input);
    commit_s = std::chrono::duration<double>(Clock::now() - t1).count();
    s1 = read_procs(pids);
  }
  rd_kafka_destroy(rk);
  if (!done) die("timed out: output topic " + topic + " did not reach " + std::to_string(expect));
  const double seconds = std::chrono::duration<double>(t1 - t0).count();
  // When everything arrived at once (or 1 record) there is no interval.
  const double measured = std::max(1.0, static_cast<double>(done - first));
  std::printf(
      "{\"messages\": %llu, \"seconds\": %.3f, \"msgs_per_s\": %.0f, \"cpu_s\": %.3f, "
      "\"cpu_s_per_million\": %.3f, \"rss_peak_kb\": %ld, \"commit_s\": %.3f}\n",
      static_cast<unsigned long long>(done - first), seconds,
      seconds > 0 ? measured / seconds : 0.0, s1.cpu_seconds - s0.cpu_seconds,
      (s1.cpu_seconds - s0.cpu_seconds) * 1e6 / measured, s1.rss_peak_kb, commit_s);
  return 0;
}

// Reads `topic` from the beginning until `count` records stamped after the
// reader started have arrived, and reports receive time minus record
// timestamp for those stamped `warmup_ms` or more after the first of them:
// the first moments measure the generator's start-up (connection, metadata,
// producer id), not the application. (Starting at `latest` would race with
// records produced meanwhile.) `dump`: a file for one line per measured
// record, "ms-since-first partition latency-ms".
int latency(const std::string& bootstrap, const std::string& topic, uint64_t count,
            double timeout_s, int64_t warmup_ms, const std::string& dump) {
  auto props = consumer_props(bootstrap, "streams-bench-latency-" + std::to_string(getpid()));
  rd_kafka_t* rk = make_reader(props, topic);
  std::fprintf(stderr, "latency: assigned\n");
  std::vector<double> ms;
  ms.reserve(count);
  std::vector<std::array<int64_t, 3>> rows;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t start_ms = wall_ms();
  int64_t first_ts = -1;
  uint64_t seen = 0;
  while (seen < count && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    const int64_t ts = m->err ? -1 : rd_kafka_message_timestamp(m, nullptr);
    if (ts >= start_ms) {
      ++seen;
      if (first_ts < 0) first_ts = ts;
      if (ts >= first_ts + warmup_ms) {
        const int64_t lat = wall_ms() - ts;
        ms.push_back(static_cast<double>(lat));
        if (!dump.empty()) rows.push_back({ts - first_ts, m->partition, lat});
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!dump.empty()) {
    std::ofstream out(dump);
    for (const auto& r : rows) out << r[0] << ' ' << r[1] << ' ' << r[2] << '\n';
  }
  if (ms.empty()) die("no records measured on " + topic);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  std::printf(
      "{\"records\": %llu, \"measured\": %zu, \"p50_ms\": %.1f, \"p99_ms\": %.1f, "
      "\"max_ms\": %.1f, \"first_ts_ms\": %lld}\n",
      static_cast<unsigned long long>(seen), ms.size(), pct(0.50), pct(0.99), ms.back(),
      static_cast<long long>(first_ts));
  return seen == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"streams-bench: benchmark tools"};
  app.require_subcommand(1);
  std::string bootstrap, topic, out, group = "streams-bench-relay";
  uint64_t count = 0, keys = 0;
  size_t size = 100;
  bool json = false;
  double rate = 0, timeout = 120;
  int partitions = 1;
  std::vector<int> pids;

  auto* p = app.add_subcommand("produce", "Produce COUNT records");
  p->add_option("--bootstrap", bootstrap)->required();
  p->add_option("--topic", topic)->required();
  p->add_option("--count", count)->required();
  p->add_option("--size", size, "Value size (ignored with --json)");
  p->add_flag("--json", json, "IngestMetric JSON counters (~250 bytes)");
  p->add_option("--rate", rate, "Records per second (default: as fast as possible)");
  p->add_option("--keys", keys, "Distinct keys, in turn (default: every record its own)");

  auto* r = app.add_subcommand("relay", "Consume -> produce with no processing until SIGTERM");
  r->add_option("--bootstrap", bootstrap)->required();
  r->add_option("--input", topic)->required();
  r->add_option("--output", out)->required();
  r->add_option("--group", group);
  std::vector<std::string> extra;
  r->add_option("--set", extra,
                "KEY=VALUE librdkafka property (consumer./producer. prefix: one client)");
  std::string inline_job;
  r->add_option("--inline", inline_job, "Do this job inline: simple_map_filter");

  auto* w = app.add_subcommand("watch", "Throughput/CPU/RSS of PID turning input into TOPIC");
  w->add_option("--bootstrap", bootstrap)->required();
  w->add_option("--topic", topic)->required();
  w->add_option("--partitions", partitions)->required();
  w->add_option("--expect", count)->required();
  w->add_option("--pid", pids, "The application's processes (repeat for several)")->required();
  w->add_option("--timeout", timeout);
  std::string input;
  w->add_option("--group", group, "With --input: read the CPU once GROUP committed all of it");
  w->add_option("--input", input);
  uint64_t from = 1;
  w->add_option("--from", from,
                "Measure from when this many outputs arrived (start-up work left out)");

  auto* l = app.add_subcommand("latency", "Latency of COUNT records arriving on TOPIC");
  l->add_option("--bootstrap", bootstrap)->required();
  l->add_option("--topic", topic)->required();
  l->add_option("--count", count)->required();
  l->add_option("--timeout", timeout);
  int64_t warmup_ms = 0;
  l->add_option("--warmup-ms", warmup_ms, "Leave out records stamped this soon after the first");
  std::string dump;
  l->add_option("--dump", dump, "One line per measured record to this file");

  CLI11_PARSE(app, argc, argv);
  std::signal(SIGTERM, [](int) { g_stop.store(true); });
  std::signal(SIGINT, [](int) { g_stop.store(true); });
  if (*p) return produce(bootstrap, topic, count, size, json, rate, keys);
  if (*r) return relay(bootstrap, topic, out, group, extra, inline_job);
  if (*w) return watch(bootstrap, topic, partitions, count, pids, timeout, group, input, from);
  return latency(bootstrap, topic, count, timeout, warmup_ms, dump);
}
