#include "sinks/plugin/plugin_sink.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <thread>

#include "common/clock.h"
#include "pipeline/generation.h"

namespace streams::sinks {

struct PluginSink::Item {
  uint64_t token;
  int64_t offset;
  uint32_t seq;
  int64_t timestamp_ms;
  size_t key_at, value_at;  // into Batch::data
  uint32_t key_size, value_size;
  bool key_null, value_null;
  uint32_t first_header, header_count;  // into Batch::headers
};

struct PluginSink::HeaderRef {
  size_t name_at, value_at;
  uint32_t name_size, value_size;
  bool value_null;
};

struct PluginSink::Batch {
  uint64_t id = 0;
  int32_t partition = 0;
  uint32_t attempt = 0;
  int64_t opened_ms = 0;
  int64_t due_ms = 0;  // not sent again before
  int64_t sent_ms = 0;
  size_t bytes = 0;  // key and value
  std::vector<Item> items;
  std::vector<HeaderRef> headers;
  std::string data;
};

struct PluginSink::Lane {
  int32_t partition = 0;
  std::string topic;
  std::unique_ptr<Batch> open;
  // Sealed, not sent: in source order, a batch to send again first.
  std::deque<std::unique_ptr<Batch>> queue;
  std::vector<std::unique_ptr<Batch>> out;  // sent, not reported: at most batches_out_
  bool announced = false;                   // sink_partition(assigned) was called
  int64_t last_offset = -1;                 // of the last record taken
  uint32_t seq = 0;                         // its index among its input's outputs
};

namespace {

PluginSink* sink_of(streams_call* call) { return reinterpret_cast<PluginSink*>(call); }

int32_t sink_ack(streams_call* call, uint64_t id, int32_t outcome, const char* reason,
                 size_t size) {
  return sink_of(call)->report(id, outcome, reason, size) ? STREAMS_OK : STREAMS_RECORD_ERROR;
}

int32_t sink_retry_after(streams_call* call, uint64_t id, int64_t delay_ms, const char* reason,
                         size_t size) {
  const int64_t delay = std::clamp<int64_t>(delay_ms, 0, STREAMS_MAX_RETRY_AFTER_MS);
  return sink_of(call)->report(id, STREAMS_SINK_RETRY, reason, size, delay) ? STREAMS_OK
                                                                            : STREAMS_RECORD_ERROR;
}

void sink_log(void* ctx, int32_t level, const char* message, size_t size) {
  static_cast<const PluginSink*>(ctx)->log_line(level, message, size);
}

// What a sink may not use: refused.
int32_t refuse_emit(streams_call*, const streams_record*) { return STREAMS_RECORD_ERROR; }
void ignore_error(streams_call*, int32_t, const char*, size_t) {}
const streams_origin* no_origin(streams_call*) {
  static const streams_origin none{sizeof(streams_origin), "", -1, -1};
  return &none;
}
int32_t refuse_branch(streams_call*, const char*, size_t) { return STREAMS_RECORD_ERROR; }
int32_t refuse_accumulator(streams_call*, const uint8_t*, size_t) { return STREAMS_RECORD_ERROR; }
int32_t refuse_detail(streams_call*, const char*, size_t, const char*, size_t) {
  return STREAMS_RECORD_ERROR;
}
int32_t refuse_get(streams_call*, const uint8_t*, size_t, streams_bytes*) {
  return STREAMS_RECORD_ERROR;
}
int32_t refuse_put(streams_call*, const uint8_t*, size_t, const uint8_t*, size_t) {
  return STREAMS_RECORD_ERROR;
}
int32_t refuse_erase(streams_call*, const uint8_t*, size_t) { return STREAMS_RECORD_ERROR; }
int32_t refuse_scan(streams_call*, const uint8_t*, size_t,
                    int32_t (*)(void*, streams_bytes, streams_bytes), void*) {
  return STREAMS_RECORD_ERROR;
}

size_t append_bytes(std::string& data, streams_bytes b) {
  const size_t at = data.size();
  if (b.size) data.append(reinterpret_cast<const char*>(b.data), b.size);
  return at;
}

}  // namespace

PluginSink::PluginSink(const streams_function& fn, std::string name, std::string describe,
                       const PluginSinkLimits& limits, pipeline::SinkListener& listener,
                       metrics::StepMetrics* metrics)
    : fn_(fn),
      name_(std::move(name)),
      describe_(std::move(describe)),
      limits_(limits),
      batches_out_(STREAMS_HAS_FIELD(&fn, streams_function, sink_batches_out) &&
                           fn.sink_batches_out > 1
                       ? fn.sink_batches_out
                       : 1),
      listener_(listener),
      metrics_(metrics) {
  api_.struct_size = sizeof(api_);
  api_.abi_major = STREAMS_ABI_MAJOR;
  api_.abi_minor = STREAMS_ABI_MINOR;
  api_.host_ctx = this;
  api_.emit = &refuse_emit;
  api_.set_error = &ignore_error;
  api_.origin = &no_origin;
  api_.log = &sink_log;
  api_.select_branch = &refuse_branch;
  api_.set_accumulator = &refuse_accumulator;
  api_.set_error_detail = &refuse_detail;
  api_.state_get = &refuse_get;
  api_.state_put = &refuse_put;
  api_.state_erase = &refuse_erase;
  api_.state_scan = &refuse_scan;
  api_.sink_ack = &sink_ack;
  api_.sink_retry_after = &sink_retry_after;
  api_.counter = [](void* host_ctx, const char* name, size_t size) {
    return pipeline::plugin_counter(static_cast<PluginSink*>(host_ctx)->name_, name, size);
  };
  api_.count = &pipeline::count_plugin_counter;
  api_.gauge = [](void* host_ctx, const char* name, size_t size) {
    return pipeline::plugin_gauge(static_cast<PluginSink*>(host_ctx)->name_, name, size);
  };
  api_.histogram = [](void* host_ctx, const char* name, size_t size, const double* bounds,
                      size_t count) {
    return pipeline::plugin_histogram(static_cast<PluginSink*>(host_ctx)->name_, name, size, bounds,
                                      count);
  };
  pipeline::set_plugin_gauges(api_);
  if (metrics_) metrics_->plugin_sink.set(1);
}

std::unique_ptr<PluginSink> PluginSink::create(const streams_function& fn, std::string name,
                                               std::string describe, const std::string& config_json,
                                               const PluginSinkLimits& limits,
                                               pipeline::SinkListener& listener,
                                               metrics::StepMetrics* metrics, std::string* error) {
  std::unique_ptr<PluginSink> sink(
      new PluginSink(fn, std::move(name), std::move(describe), limits, listener, metrics));
  char why[512] = {0};
  sink->instance_ =
      fn.create(&sink->api_, config_json.c_str(), config_json.size(), why, sizeof(why));
  if (!sink->instance_) {
    *error = "sink '" + sink->name_ + "' (" + sink->describe_ +
             ") failed to initialise: " + (why[0] ? why : "no reason given");
    return nullptr;
  }
  return sink;
}

namespace {

// Takes nothing: a probe's listener.
struct NoListener final : pipeline::SinkListener {
  void on_written(uint64_t) override {}
  void on_acknowledged(pipeline::OutputSink&, uint64_t) override {}
  void on_rejected(pipeline::OutputSink&, uint64_t, const streams_record&, const char*) override {}
  void on_failed(pipeline::OutputSink&, const char*) override {}
};

}  // namespace

std::string PluginSink::probe(const streams_function& fn, const std::string& config_json) {
  NoListener listener;
  std::string error;
  std::unique_ptr<PluginSink> sink =
      create(fn, "probe", "probe", config_json, {}, listener, nullptr, &error);
  if (sink) return "";
  const std::string marker = "failed to initialise: ";
  const size_t at = error.find(marker);
  return at == std::string::npos ? error : error.substr(at + marker.size());
}

PluginSink::~PluginSink() {
  if (instance_) fn_.destroy(instance_);
}

void PluginSink::log_line(int32_t level, const char* message, size_t size) const {
  const auto lvl = static_cast<log::Level>(level < 0 ? 0 : level > 3 ? 3 : level);
  if (!log::enabled(lvl)) return;
  log::write(lvl, "[sink " + name_ + "] " + std::string(message, size), {{"step", name_}});
}

PluginSink::Lane& PluginSink::lane(int32_t partition) {
  const auto i = static_cast<size_t>(partition < 0 ? 0 : partition);
  if (i >= lanes_.size()) lanes_.resize(i + 1);
  if (!lanes_[i]) {
    lanes_[i] = std::make_unique<Lane>();
    lanes_[i]->partition = static_cast<int32_t>(i);
  }
  return *lanes_[i];
}

std::unique_ptr<PluginSink::Batch> PluginSink::new_batch(int32_t partition) {
  std::unique_ptr<Batch> b;
  if (spare_.empty()) {
    b = std::make_unique<Batch>();
  } else {
    b = std::move(spare_.back());
    spare_.pop_back();
    b->items.clear();
    b->headers.clear();
    b->data.clear();
  }
  b->id = next_id_++;
  b->partition = partition;
  b->attempt = 0;
  b->bytes = 0;
  b->opened_ms = b->due_ms = b->sent_ms = 0;
  return b;
}

void PluginSink::append(Batch& b, const streams_record& r, uint64_t token, int64_t offset,
                        uint32_t seq) {
  Item item{};
  item.token = token;
  item.offset = offset;
  item.seq = seq;
  item.timestamp_ms = r.timestamp_ms;
  item.key_null = r.key.data == nullptr;
  item.value_null = r.value.data == nullptr;
  item.key_size = static_cast<uint32_t>(r.key.size);
  item.value_size = static_cast<uint32_t>(r.value.size);
  item.key_at = append_bytes(b.data, r.key);
  item.value_at = append_bytes(b.data, r.value);
  item.first_header = static_cast<uint32_t>(b.headers.size());
  item.header_count = static_cast<uint32_t>(r.header_count);
  for (size_t i = 0; i < r.header_count; ++i) {
    const streams_header& h = r.headers[i];
    HeaderRef ref{};
    ref.name_size = static_cast<uint32_t>(h.name.size);
    ref.value_size = static_cast<uint32_t>(h.value.size);
    ref.value_null = h.value.data == nullptr;
    ref.name_at = append_bytes(b.data, h.name);
    ref.value_at = append_bytes(b.data, h.value);
    b.headers.push_back(ref);
  }
  b.bytes += r.key.size + r.value.size;
  b.items.push_back(item);
}

streams_record PluginSink::view(const Batch& b, size_t i,
                                std::vector<streams_header>* headers) const {
  const Item& item = b.items[i];
  const auto* base = reinterpret_cast<const uint8_t*>(b.data.data());
  streams_record r{};
  r.struct_size = sizeof(r);
  r.key = {item.key_null ? nullptr : base + item.key_at, item.key_size};
  r.value = {item.value_null ? nullptr : base + item.value_at, item.value_size};
  r.timestamp_ms = item.timestamp_ms;
  const size_t first = headers->size();
  for (uint32_t h = 0; h < item.header_count; ++h) {
    const HeaderRef& ref = b.headers[item.first_header + h];
    headers->push_back({{base + ref.name_at, ref.name_size},
                        {ref.value_null ? nullptr : base + ref.value_at, ref.value_size}});
  }
  r.headers = item.header_count ? headers->data() + first : nullptr;
  r.header_count = item.header_count;
  return r;
}

pipeline::WriteResult PluginSink::write(const streams_record& record, uint64_t token,
                                        const streams_origin* origin, std::string* reason) {
  if (failed_) {
    *reason = "sink '" + name_ + "' failed";
    return pipeline::WriteResult::stop;
  }
  const int32_t partition = origin ? origin->partition : 0;
  const int64_t offset = origin ? origin->offset : -1;
  Lane& l = lane(partition);
  if (l.topic.empty() && origin && origin->topic) l.topic = origin->topic;
  l.seq = offset == l.last_offset ? l.seq + 1 : 0;
  l.last_offset = offset;
  // The clock is read only when a batch opens or goes, or the sink starts
  // waiting: not per record.
  int64_t now = 0;
  // A full batch is sealed at the next input, so that a batch holds every
  // output of each of its inputs (it may pass batch_size by one input's).
  if (l.open && l.seq == 0 && full(*l.open)) {
    now = steady_ms();
    seal(l);
    send_next(l, now);
  }
  if (!l.open) {
    if (now == 0) now = steady_ms();
    l.open = new_batch(l.partition);
    l.open->opened_ms = now;
  }
  append(*l.open, record, token, offset, l.seq);
  if (pending_ == 0) progress_ms_ = now != 0 ? now : steady_ms();
  ++pending_;
  pending_bytes_ += record.key.size + record.value.size;
  listener_.on_written(token);
  return failed_ ? pipeline::WriteResult::stop : pipeline::WriteResult::ok;
}

bool PluginSink::full(const Batch& b) const {
  return b.items.size() >= limits_.batch_size || b.bytes >= limits_.batch_bytes;
}

void PluginSink::seal(Lane& l) {
  if (l.open) l.queue.push_back(std::move(l.open));
}

void PluginSink::send_next(Lane& l, int64_t now_ms) {
  // A report made inside write_batch makes room: send on.
  while (!failed_ && l.out.size() < batches_out_ && !l.queue.empty() &&
         l.queue.front()->due_ms <= now_ms) {
    l.out.push_back(std::move(l.queue.front()));
    l.queue.pop_front();
    send(l, *l.out.back(), now_ms);
  }
}

template <class F>
void PluginSink::call_plugin(const char* what, F&& call) {
  in_call_ = true;
  const int32_t status = call(reinterpret_cast<streams_call*>(this));
  in_call_ = false;
  std::vector<Report> reports;
  reports.swap(reports_);
  reported_ += reports.size();
  const int64_t now = steady_ms();
  for (const Report& r : reports) apply(r, now);
  reports.clear();
  if (reports_.empty()) reports_.swap(reports);  // keep the capacity
  if (status == STREAMS_FATAL) {
    fail("sink '" + name_ + "' (" + describe_ + "): " + what +
         " returned STREAMS_FATAL; its unwritten outputs stay uncommitted");
  }
}

void PluginSink::send(Lane& l, Batch& b, int64_t now_ms) {
  if (!l.announced) {
    l.announced = true;
    if (fn_.sink_partition) {
      call_plugin("sink_partition", [&](streams_call* c) {
        return fn_.sink_partition(instance_, l.topic.c_str(), l.partition, 1, c);
      });
      if (failed_) return;
    }
  }
  records_.clear();
  headers_.clear();
  offsets_.clear();
  sequences_.clear();
  headers_.reserve(b.headers.size());
  for (size_t i = 0; i < b.items.size(); ++i) {
    records_.push_back(view(b, i, &headers_));
    offsets_.push_back(b.items[i].offset);
    sequences_.push_back(b.items[i].seq);
  }
  streams_sink_batch batch{};
  batch.struct_size = sizeof(batch);
  batch.attempt = b.attempt;
  batch.id = b.id;
  batch.topic = l.topic.c_str();
  batch.partition = l.partition;
  batch.first_offset = offsets_.front();
  batch.last_offset = offsets_.back();
  batch.record_count = records_.size();
  batch.records = records_.data();
  batch.offsets = offsets_.data();
  batch.sequences = sequences_.data();
  batch.bytes = b.bytes;
  // `b` stays in its lane's `out`, unchanged, until its report is applied;
  // the sink is destroyed before its batches (~PluginSink).
  batch.views_until_report = 1;
  b.sent_ms = now_ms;
  call_plugin("write_batch",
              [&](streams_call* c) { return fn_.write_batch(instance_, &batch, c); });
}

bool PluginSink::report(uint64_t id, int32_t outcome, const char* reason, size_t size,
                        int64_t delay_ms) {
  if (!in_call_ || outcome < STREAMS_SINK_WRITTEN || outcome > STREAMS_SINK_REJECTED) return false;
  for (const Report& r : reports_) {
    if (r.id == id) return false;
  }
  Lane* l = nullptr;
  size_t at = 0;
  if (!find_out(id, &l, &at)) return false;
  reports_.push_back({id, outcome, std::string(reason ? reason : "", reason ? size : 0), delay_ms});
  return true;
}

bool PluginSink::find_out(uint64_t id, Lane** lane, size_t* at) const {
  for (const auto& l : lanes_) {
    if (!l) continue;
    for (size_t i = 0; i < l->out.size(); ++i) {
      if (l->out[i]->id == id) {
        *lane = l.get();
        *at = i;
        return true;
      }
    }
  }
  return false;
}

void PluginSink::apply(const Report& r, int64_t now_ms) {
  Lane* l = nullptr;
  size_t at = 0;
  if (!find_out(r.id, &l, &at)) return;
  std::unique_ptr<Batch> b = std::move(l->out[at]);
  l->out.erase(l->out.begin() + static_cast<std::ptrdiff_t>(at));
  switch (r.outcome) {
    case STREAMS_SINK_WRITTEN:
      return written(std::move(b), now_ms);
    case STREAMS_SINK_RETRY:
      return retry(*l, std::move(b), r, now_ms);
    default:
      return rejected(*l, std::move(b), r.reason);
  }
}

void PluginSink::written(std::unique_ptr<Batch> b, int64_t now_ms) {
  pending_ -= b->items.size();
  pending_bytes_ -= b->bytes;
  progress_ms_ = now_ms;
  if (metrics_) {
    metrics_->sink_rows.add(b->items.size());
    metrics_->sink_bytes.add(b->bytes);
    metrics_->sink_batch_records.observe(static_cast<double>(b->items.size()));
    metrics_->sink_write_seconds.observe(static_cast<double>(now_ms - b->sent_ms) / 1000.0);
  }
  for (const Item& item : b->items) listener_.on_acknowledged(*this, item.token);
  spare_.push_back(std::move(b));
}

void PluginSink::retry(Lane& l, std::unique_ptr<Batch> batch, const Report& r, int64_t now_ms) {
  Batch& b = *batch;
  ++b.attempt;
  const int shift = static_cast<int>(std::min<uint32_t>(b.attempt - 1, 20));
  const int64_t backoff =
      r.delay_ms >= 0 ? r.delay_ms
                      : std::min(limits_.retry_backoff_max_ms, limits_.retry_backoff_ms << shift);
  b.due_ms = now_ms + backoff;
  if (metrics_) metrics_->sink_retries.add();
  uint64_t suppressed = 0;
  if (retry_log_.allow(std::chrono::steady_clock::now(), &suppressed)) {
    log::warn("sink '" + name_ + "' (" + describe_ + "): " + std::to_string(b.items.size()) +
              " record(s) of partition " + std::to_string(l.partition) + " (offsets " +
              std::to_string(b.items.front().offset) + "-" + std::to_string(b.items.back().offset) +
              ") not written, attempt " + std::to_string(b.attempt) + ", again in " +
              std::to_string(backoff) + " ms" +
              (r.delay_ms >= 0 ? ", as the store asked: " : ": ") + r.reason +
              log::RateLimitedLog::note(suppressed));
  }
  l.queue.push_front(std::move(batch));
}

// A refused batch is halved until each refused record stands alone: it
// goes to the error policy, the rest is written.
void PluginSink::rejected(Lane& l, std::unique_ptr<Batch> b, const std::string& reason) {
  std::vector<streams_header> headers;
  headers.reserve(b->headers.size());
  if (b->items.size() == 1) {
    const streams_record r = view(*b, 0, &headers);
    --pending_;
    pending_bytes_ -= b->bytes;
    if (metrics_) metrics_->sink_rejected.add();
    const std::string why = "sink '" + name_ + "' (" + describe_ +
                            ") refused it: " + (reason.empty() ? "no reason given" : reason);
    listener_.on_rejected(*this, b->items[0].token, r, why.c_str());
  } else {
    // Halved at the input boundary nearest the middle, if there is one.
    const size_t n = b->items.size();
    size_t half = n / 2;
    for (size_t d = 0; d < n / 2; ++d) {
      if (b->items[n / 2 - d].offset != b->items[n / 2 - d - 1].offset) {
        half = n / 2 - d;
        break;
      }
      if (n / 2 + d + 1 < n && b->items[n / 2 + d + 1].offset != b->items[n / 2 + d].offset) {
        half = n / 2 + d + 1;
        break;
      }
    }
    std::unique_ptr<Batch> first = new_batch(l.partition), second = new_batch(l.partition);
    for (size_t i = 0; i < b->items.size(); ++i) {
      const streams_record r = view(*b, i, &headers);
      const Item& item = b->items[i];
      append(i < half ? *first : *second, r, item.token, item.offset, item.seq);
    }
    l.queue.push_front(std::move(second));
    l.queue.push_front(std::move(first));
  }
  spare_.push_back(std::move(b));
}

void PluginSink::fail(const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  listener_.on_failed(*this, reason.c_str());
}

void PluginSink::poll(int timeout_ms) {
  if (failed_) return;
  int64_t now = steady_ms();
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& l : lanes_) {
    if (!l) continue;
    // Between inputs: a full batch, or one open batch_time_ms, goes.
    if (l->open && (full(*l->open) || now - l->open->opened_ms >= limits_.batch_time_ms)) {
      seal(*l);
    }
    send_next(*l, now);
    if (l->open) next = std::min(next, l->open->opened_ms + limits_.batch_time_ms);
    if (l->out.size() < batches_out_ && !l->queue.empty()) {
      next = std::min(next, l->queue.front()->due_ms);
    }
  }
  if (failed_) return;
  const int64_t wait = std::clamp<int64_t>(next - now, 0, timeout_ms < 0 ? 0 : timeout_ms);
  const uint64_t reported = reported_;
  if (fn_.poll_sink) {
    call_plugin("poll_sink", [&](streams_call* c) {
      return fn_.poll_sink(instance_, static_cast<int32_t>(wait), c);
    });
  }
  // A plugin with nothing out returns at once (nothing can complete); the
  // wait is the host's then, so that a loop waiting on sinks does not spin
  // through a batch's time or a retry's backoff. With a batch out, the
  // plugin's poll may return early to be called again (it drives its I/O).
  const int64_t until = now + wait;
  now = steady_ms();
  if (reported_ == reported && !failed_ && now < until && !any_out()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(until - now));
    now = steady_ms();
  }
  for (const auto& l : lanes_) {
    if (l) send_next(*l, now);
  }
}

bool PluginSink::any_out() const {
  for (const auto& l : lanes_) {
    if (l && !l->out.empty()) return true;
  }
  return false;
}

void PluginSink::seal() {
  if (failed_) return;
  const int64_t now = steady_ms();
  for (const auto& l : lanes_) {
    if (!l) continue;
    seal(*l);
    send_next(*l, now);
  }
  if (fn_.flush_sink && !failed_) {
    call_plugin("flush_sink", [&](streams_call* c) { return fn_.flush_sink(instance_, c); });
  }
}

void PluginSink::seal_partition(int32_t partition) {
  const auto i = static_cast<size_t>(partition < 0 ? 0 : partition);
  if (failed_ || i >= lanes_.size() || !lanes_[i] || !lanes_[i]->open) return;
  seal(*lanes_[i]);
  send_next(*lanes_[i], steady_ms());
  if (fn_.flush_sink && !failed_) {
    call_plugin("flush_sink", [&](streams_call* c) { return fn_.flush_sink(instance_, c); });
  }
}

// A revoked partition's outputs not yet sent are dropped (its next owner
// reads their inputs again); the batches out are left to their reports.
void PluginSink::partitions_changed(const int32_t* partitions, size_t count, bool assigned) {
  for (size_t i = 0; i < count; ++i) {
    Lane& l = lane(partitions[i]);
    if (assigned) {
      l.announced = false;
      l.last_offset = -1;
      continue;
    }
    seal(l);
    for (std::unique_ptr<Batch>& b : l.queue) {
      pending_ -= b->items.size();
      pending_bytes_ -= b->bytes;
      spare_.push_back(std::move(b));
    }
    l.queue.clear();
    if (l.announced && fn_.sink_partition && !failed_) {
      call_plugin("sink_partition", [&](streams_call* c) {
        return fn_.sink_partition(instance_, l.topic.c_str(), l.partition, 0, c);
      });
    }
    l.announced = false;
  }
}

}  // namespace streams::sinks
