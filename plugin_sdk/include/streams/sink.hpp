// The sink adapter (ABI 1.6): streams::sink<T>, a writer to a store.
// Part of plugin.hpp, which includes it; include plugin.hpp, not this.
//
//   class Lines {
//    public:
//     static constexpr streams::SinkGuarantee guarantee = streams::SinkGuarantee::at_least_once;
//     explicit Lines(const streams::InitContext& ctx);
//     // Takes a batch of one source partition; copy what you keep. Report
//     // it now or from a later poll().
//     void write(const streams::SinkBatch& batch, streams::SinkReports& reports) {
//       for (size_t i = 0; i < batch.size(); ++i) out_ << batch[i].value() << '\n';
//       out_.flush();
//       if (out_) reports.written(batch.id());
//       else reports.retry(batch.id(), "write failed");
//     }
//     void poll(int timeout_ms, streams::SinkReports& reports) {}
//   };
//   STREAMS_PLUGIN("lines", "1.0.0", streams::sink<Lines>("lines"))
//
// One instance per sink step and processing thread, serving every partition
// that thread owns; every call on that thread. Optional members:
//   static constexpr uint32_t batches_out = 64;  writes commute: up to 64
//       batches of a partition out at once (ABI 1.10; default 1, in order)
//   void flush(SinkReports&);   the host waits for every batch: stop holding back
//   void assigned(std::string_view topic, int32_t partition, SinkReports&);
//   void revoked(std::string_view topic, int32_t partition, SinkReports&);
// An exception thrown by write() reports the batch for a retry, with what();
// one thrown elsewhere stops the host (nothing unwritten is committed).
#ifndef STREAMS_SINK_HPP
#define STREAMS_SINK_HPP

#include <streams/plugin.hpp>

namespace streams {

enum class SinkGuarantee : uint32_t {
  at_least_once = STREAMS_SINK_AT_LEAST_ONCE,  // a replay writes records again
  idempotent = STREAMS_SINK_IDEMPOTENT,        // written again, they land once
  exactly_once = STREAMS_SINK_EXACTLY_ONCE,    // the sink skips what the store has
};

// A batch to write: records of one source partition in source order.
// Valid for the write() call only.
class SinkBatch {
 public:
  explicit SinkBatch(const streams_sink_batch& raw) : raw_(raw) {}

  uint64_t id() const { return raw_.id; }
  std::string_view topic() const { return raw_.topic; }
  int32_t partition() const { return raw_.partition; }
  int64_t first_offset() const { return raw_.first_offset; }
  int64_t last_offset() const { return raw_.last_offset; }
  // 0, then 1, 2, ... when the host sends it again after a retry.
  uint32_t attempt() const { return raw_.attempt; }
  size_t size() const { return raw_.record_count; }
  size_t bytes() const { return raw_.bytes; }
  Record operator[](size_t i) const { return Record(raw_.records[i]); }
  // Record i's source offset, and its index among its input's outputs.
  int64_t offset(size_t i) const { return raw_.offsets[i]; }
  uint32_t sequence(size_t i) const { return raw_.sequences[i]; }
  // True when the records' bytes (keys, values, headers) stay valid and
  // unchanged until this batch is reported, from this call or a later one:
  // a sink may keep views of them rather than copies (host ABI 1.9).
  bool views_until_report() const {
    return STREAMS_HAS_FIELD(&raw_, streams_sink_batch, views_until_report) &&
           raw_.views_until_report != 0;
  }
  const streams_sink_batch& raw() const { return raw_; }

 private:
  const streams_sink_batch& raw_;
};

// Where a sink reports its batches. Valid for the current call only; a
// batch reported later is reported from a later call's SinkReports.
class SinkReports {
 public:
  SinkReports(const streams_host_api* host, streams_call* call) : host_(host), call_(call) {}

  // Stored for good. False for an unknown or already reported id.
  bool written(uint64_t id) { return report(id, STREAMS_SINK_WRITTEN, {}); }
  // Not stored now; the host sends it again after a backoff.
  bool retry(uint64_t id, std::string_view reason) {
    return report(id, STREAMS_SINK_RETRY, reason);
  }
  // Not stored now, and the store said when to try again (a 429's
  // Retry-After): the host sends it again after `delay_ms` (at most
  // STREAMS_MAX_RETRY_AFTER_MS) rather than its backoff. A host older than
  // ABI 1.13 takes it as retry().
  bool retry_after(uint64_t id, int64_t delay_ms, std::string_view reason) {
    if (!STREAMS_HAS_FIELD(host_, streams_host_api, sink_retry_after) ||
        host_->sink_retry_after == nullptr) {
      return retry(id, reason);
    }
    return host_->sink_retry_after(call_, id, delay_ms, reason.data(), reason.size()) == STREAMS_OK;
  }
  // Refused for good; the host halves it until the refused records are
  // alone, and sends those to the error policy with `reason`.
  bool rejected(uint64_t id, std::string_view reason) {
    return report(id, STREAMS_SINK_REJECTED, reason);
  }
  void log(LogLevel level, std::string_view message) const {
    host_->log(host_->host_ctx, static_cast<int32_t>(level), message.data(), message.size());
  }

 private:
  bool report(uint64_t id, int32_t outcome, std::string_view reason) {
    return host_->sink_ack(call_, id, outcome, reason.data(), reason.size()) == STREAMS_OK;
  }
  const streams_host_api* host_;
  streams_call* call_;
};

namespace detail {

template <class T, class = void>
struct HasFlush : std::false_type {};
template <class T>
struct HasFlush<T, std::void_t<decltype(std::declval<T&>().flush(std::declval<SinkReports&>()))>>
    : std::true_type {};

template <class T, class = void>
struct HasPartitions : std::false_type {};
template <class T>
struct HasPartitions<
    T, std::void_t<decltype(std::declval<T&>().assigned(std::string_view{}, int32_t{},
                                                        std::declval<SinkReports&>()),
                            std::declval<T&>().revoked(std::string_view{}, int32_t{},
                                                       std::declval<SinkReports&>()))>>
    : std::true_type {};

// T::guarantee, or at_least_once when T declares none.
template <class T, class = void>
struct GuaranteeOf {
  static constexpr uint32_t value = STREAMS_SINK_AT_LEAST_ONCE;
};
template <class T>
struct GuaranteeOf<T, std::void_t<decltype(T::guarantee)>> {
  static constexpr uint32_t value = static_cast<uint32_t>(SinkGuarantee{T::guarantee});
};

// T::batches_out, or 1 when T declares none.
template <class T, class = void>
struct BatchesOutOf {
  static constexpr uint32_t value = 1;
};
template <class T>
struct BatchesOutOf<T, std::void_t<decltype(T::batches_out)>> {
  static_assert(T::batches_out >= 1, "batches_out is at least 1");
  static_assert(T::batches_out == 1 || GuaranteeOf<T>::value != STREAMS_SINK_EXACTLY_ONCE,
                "an exactly_once sink writes a partition's batches in order: batches_out 1");
  static constexpr uint32_t value = T::batches_out;
};

// Runs `body` on the sink; an exception is logged and stops the host.
template <class F>
int32_t sink_guarded(SinkReports& reports, const char* what, F&& body) noexcept {
  try {
    body();
    return STREAMS_OK;
  } catch (const std::exception& e) {
    reports.log(LogLevel::error, std::string(what) + " threw: " + e.what());
  } catch (...) {
    reports.log(LogLevel::error, std::string(what) + " threw an unknown exception");
  }
  return STREAMS_FATAL;
}

template <class T>
int32_t sink_write(void* instance, const streams_sink_batch* batch, streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  SinkReports reports(self->host, call);
  try {
    self->function.write(SinkBatch(*batch), reports);
  } catch (const std::exception& e) {
    reports.retry(batch->id, e.what());
  } catch (...) {
    reports.retry(batch->id, "unknown exception");
  }
  return STREAMS_OK;
}

template <class T>
int32_t sink_poll(void* instance, int32_t timeout_ms, streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  SinkReports reports(self->host, call);
  return sink_guarded(reports, "poll",
                      [&] { self->function.poll(static_cast<int>(timeout_ms), reports); });
}

template <class T>
int32_t sink_flush(void* instance, streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  SinkReports reports(self->host, call);
  return sink_guarded(reports, "flush", [&] { self->function.flush(reports); });
}

template <class T>
int32_t sink_partition(void* instance, const char* topic, int32_t partition, int32_t assigned,
                       streams_call* call) noexcept {
  auto* self = static_cast<Instance<T>*>(instance);
  SinkReports reports(self->host, call);
  return sink_guarded(reports, assigned ? "assigned" : "revoked", [&] {
    if (assigned) {
      self->function.assigned(std::string_view(topic), partition, reports);
    } else {
      self->function.revoked(std::string_view(topic), partition, reports);
    }
  });
}

}  // namespace detail

// A sink step's writer. T has
//   void write(const SinkBatch&, SinkReports&)
//   void poll(int timeout_ms, SinkReports&)
// a constructor taking `const InitContext&` or none, and optionally
// flush(), assigned()/revoked() (both), `static constexpr SinkGuarantee
// guarantee` (absent: at_least_once) and `static constexpr uint32_t
// batches_out` (absent: 1; see sink_batches_out in plugin_abi.h).
template <class T>
constexpr streams_function sink(const char* name) {
  streams_function f{sizeof(streams_function),
                     STREAMS_KIND_SINK,
                     name,
                     &detail::create<T>,
                     &detail::destroy<detail::Instance<T>>,
                     /*process=*/nullptr,
                     /*init=*/nullptr,
                     /*add=*/nullptr,
                     /*merge=*/nullptr,
                     /*result=*/nullptr,
                     /*state_version=*/0,
                     /*migrate=*/nullptr,
                     detail::GuaranteeOf<T>::value,
                     &detail::sink_write<T>,
                     &detail::sink_poll<T>,
                     /*flush_sink=*/nullptr,
                     /*sink_partition=*/nullptr,
                     detail::BatchesOutOf<T>::value};
  if constexpr (detail::HasFlush<T>::value) f.flush_sink = &detail::sink_flush<T>;
  if constexpr (detail::HasPartitions<T>::value) f.sink_partition = &detail::sink_partition<T>;
  return f;
}

}  // namespace streams

#endif  // STREAMS_SINK_HPP
