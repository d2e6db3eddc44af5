#include "kafka/dlq_replay.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>

#include "common/log.h"
#include "kafka/dlq_reader.h"
#include "pipeline/dead_letters.h"

namespace streams::kafka {
namespace {

namespace hdr = pipeline::dlq_header;

struct Deliveries {
  uint64_t failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (!msg->err) return;
  auto* d = static_cast<Deliveries*>(opaque);
  if (d->failed++ == 0) {
    d->first_error = std::string(rd_kafka_topic_name(msg->rkt)) + ": " + rd_kafka_err2str(msg->err);
  }
}

struct Tally {
  uint64_t read = 0, replayed = 0;
  std::map<std::string, uint64_t> skipped;  // by reason
  std::map<std::string, uint64_t> topics;   // replayed, by target
};

bool produce(rd_kafka_t* producer, const rd_kafka_message_t& msg, const ReplayPlan& plan,
             const HeaderList& headers, std::string* error) {
  const HeaderList kept = strip_error_headers(headers);
  rd_kafka_headers_t* out = rd_kafka_headers_new(kept.size());
  for (const auto& [n, v] : kept) rd_kafka_header_add(out, n.data(), n.size(), v.data(), v.size());
  rd_kafka_timestamp_type_t type;
  const int64_t ts = rd_kafka_message_timestamp(&msg, &type);
  for (;;) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(plan.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(msg.payload, msg.len), RD_KAFKA_V_KEY(msg.key, msg.key_len),
        RD_KAFKA_V_HEADERS(out), RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0), RD_KAFKA_V_END);
    if (!err) return true;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_headers_destroy(out);
      *error = "producing to " + plan.topic + ": " + rd_kafka_err2str(err);
      return false;
    }
    rd_kafka_poll(producer, 10);
  }
}

// `undelivered`: records produced that their broker did not acknowledge
// (they were sent, not replayed).
std::string summary(const Tally& t, const ReplayOptions& o, uint64_t undelivered) {
  std::string text = std::string(undelivered ? "sent " : "replayed ") + std::to_string(t.replayed) +
                     " of " + std::to_string(t.read) + " dead-letter record(s) from " + o.dlq_topic;
  std::string to;
  for (const auto& [topic, n] : t.topics) {
    to += (to.empty() ? "" : ", ") + topic + " (" + std::to_string(n) + ")";
  }
  if (!to.empty()) text += " to " + to;
  for (const auto& [why, n] : t.skipped) text += "; skipped " + std::to_string(n) + " " + why;
  if (undelivered) text += "; " + std::to_string(undelivered) + " not delivered";
  return text;
}

}  // namespace

ReplayPlan plan_replay(const HeaderList& headers, const ReplayOptions& options) {
  ReplayPlan plan;
  const std::string* topic = find_header(headers, hdr::kTopic);
  const std::string* kind = find_header(headers, hdr::kKind);
  const std::string* record = find_header(headers, hdr::kRecord);
  if (!topic || !kind) {
    plan.skipped = "without error headers";
  } else if (find_header(headers, hdr::kValueOmitted)) {
    plan.skipped = "sent without their key, value and headers (too large for the DLQ)";
  } else if (!listed(options.kinds, kind)) {
    plan.skipped = "of other kinds";
  } else if (!listed(options.steps, find_header(headers, hdr::kStep))) {
    plan.skipped = "of other steps";
  } else if (record && *record == "derived" && !options.include_derived) {
    plan.skipped = "derived (batch or window outputs; --include-derived replays them)";
  } else if (record && *record == "output" && options.to_topic.empty()) {
    plan.skipped = "outputs a sink's broker refused (--to TOPIC replays them there)";
  } else {
    plan.replay = true;
    plan.topic = options.to_topic.empty() ? *topic : options.to_topic;
  }
  return plan;
}

HeaderList strip_error_headers(const HeaderList& headers) {
  HeaderList kept;
  for (const auto& h : headers) {
    if (std::string_view(h.first).substr(0, hdr::kPrefix.size()) != hdr::kPrefix) {
      kept.push_back(h);
    }
  }
  return kept;
}

int replay_dead_letters(const ReplayOptions& o, const std::atomic<bool>& stop) {
  std::string error;
  DlqSource source{o.brokers,    o.dlq_topic,    o.group,
                   o.timeout_ms, o.dlq_settings, "streams-dlq-replay"};
  std::unique_ptr<DlqReader> reader = DlqReader::open(source, &error);
  Settings producer_conf = {{"bootstrap.servers", o.target_brokers},
                            {"client.id", "streams-dlq-replay"},
                            {"enable.idempotence", "true"}};
  producer_conf.insert(producer_conf.end(), o.target_settings.begin(), o.target_settings.end());
  Deliveries deliveries;
  Client producer =
      reader ? make_tool_client(RD_KAFKA_PRODUCER, producer_conf, &on_delivery, &deliveries, &error)
             : nullptr;
  if (!producer) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return 2;
  }
  Tally tally;
  bool ok = reader->start(&error) &&
            reader->read(
                stop,
                [&](const rd_kafka_message_t& msg, const HeaderList& headers, std::string* why) {
                  ++tally.read;
                  const ReplayPlan plan = plan_replay(headers, o);
                  if (!plan.replay) {
                    ++tally.skipped[plan.skipped];
                    return true;
                  }
                  if (!produce(producer.get(), msg, plan, headers, why)) return false;
                  ++tally.replayed;
                  ++tally.topics[plan.topic];
                  return true;
                },
                [&] { rd_kafka_poll(producer.get(), 0); }, &error);
  rd_kafka_flush(producer.get(), o.timeout_ms);
  const uint64_t undelivered =
      deliveries.failed + static_cast<uint64_t>(rd_kafka_outq_len(producer.get()));
  if (ok && undelivered > 0) {
    error = deliveries.failed > 0 ? std::to_string(deliveries.failed) +
                                        " record(s) not delivered, first: " + deliveries.first_error
                                  : "records still undelivered after timeout_ms";
    ok = false;
  }
  if (ok && !o.group.empty() && !reader->commit(&error)) {
    error += " (a second run replays these records again)";
    ok = false;
  }
  reader.reset();  // leaves before the summary
  std::printf("%s\n", summary(tally, o, undelivered).c_str());
  if (ok) return 0;
  std::fprintf(stderr, "error: %s; progress not committed\n", error.c_str());
  return 1;
}

}  // namespace streams::kafka
