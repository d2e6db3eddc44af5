// The plugin ABI's layout, pinned: every public struct's field offsets and
// its size at each minor version, as built on LP64 (x86-64, aarch64). A
// minor version may only append fields, so a change here that is not an
// append breaks every plugin built before it. STREAMS_HAS_FIELD is checked
// against the sizes each minor version had.
#define BOOST_TEST_MODULE abi_layout
#include <boost/test/unit_test.hpp>

#include <streams/plugin_abi.h>

#include <cstddef>
#include <string>

namespace {

struct Field {
  const char* name;
  size_t offset;  // as the compiler lays it out now
  size_t expected;
};

#define FIELD(type, field, at) \
  Field { #type "." #field, offsetof(type, field), at }

void check(const Field* fields, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    BOOST_TEST_CONTEXT(fields[i].name) { BOOST_TEST(fields[i].offset == fields[i].expected); }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(frozen_views_and_records) {
  const Field fields[] = {
      FIELD(streams_bytes, data, 0),
      FIELD(streams_bytes, size, 8),
      FIELD(streams_header, name, 0),
      FIELD(streams_header, value, 16),
      FIELD(streams_record, struct_size, 0),
      FIELD(streams_record, flags, 4),
      FIELD(streams_record, key, 8),
      FIELD(streams_record, value, 24),
      FIELD(streams_record, headers, 40),
      FIELD(streams_record, header_count, 48),
      FIELD(streams_record, timestamp_ms, 56),
      FIELD(streams_origin, struct_size, 0),
      FIELD(streams_origin, topic, 8),
      FIELD(streams_origin, partition, 16),
      FIELD(streams_origin, offset, 24),
      FIELD(streams_plugin, struct_size, 0),
      FIELD(streams_plugin, abi_major, 4),
      FIELD(streams_plugin, abi_minor, 6),
      FIELD(streams_plugin, name, 8),
      FIELD(streams_plugin, version, 16),
      FIELD(streams_plugin, function_count, 24),
      FIELD(streams_plugin, functions, 32),
  };
  check(fields, sizeof fields / sizeof fields[0]);
  BOOST_TEST(sizeof(streams_bytes) == 16u);
  BOOST_TEST(sizeof(streams_header) == 32u);
  BOOST_TEST(sizeof(streams_record) == 64u);
  BOOST_TEST(sizeof(streams_origin) == 32u);
  BOOST_TEST(sizeof(streams_plugin) == 40u);
}

// streams_host_api grew by one callback in each of 1.1, 1.2 and 1.3, by
// the four state callbacks in 1.4, by sink_ack in 1.6, defer_to_batch_end
// in 1.7, share and shared in 1.8, counter and count in 1.11, the gauge
// and histogram callbacks in 1.12, and sink_retry_after in 1.13.
BOOST_AUTO_TEST_CASE(host_api_per_minor_version) {
  const Field fields[] = {
      FIELD(streams_host_api, struct_size, 0),
      FIELD(streams_host_api, abi_major, 4),
      FIELD(streams_host_api, abi_minor, 6),
      FIELD(streams_host_api, host_ctx, 8),
      FIELD(streams_host_api, emit, 16),
      FIELD(streams_host_api, set_error, 24),
      FIELD(streams_host_api, origin, 32),
      FIELD(streams_host_api, log, 40),
      FIELD(streams_host_api, select_branch, 48),     // 1.1
      FIELD(streams_host_api, set_accumulator, 56),   // 1.2
      FIELD(streams_host_api, set_error_detail, 64),  // 1.3
      FIELD(streams_host_api, state_get, 72),         // 1.4
      FIELD(streams_host_api, state_put, 80),
      FIELD(streams_host_api, state_erase, 88),
      FIELD(streams_host_api, state_scan, 96),
      FIELD(streams_host_api, sink_ack, 104),            // 1.6
      FIELD(streams_host_api, defer_to_batch_end, 112),  // 1.7
      FIELD(streams_host_api, share, 120),               // 1.8
      FIELD(streams_host_api, shared, 128),
      FIELD(streams_host_api, counter, 136),  // 1.11
      FIELD(streams_host_api, count, 144),
      FIELD(streams_host_api, gauge, 152),  // 1.12
      FIELD(streams_host_api, gauge_set, 160),
      FIELD(streams_host_api, gauge_add, 168),
      FIELD(streams_host_api, histogram, 176),
      FIELD(streams_host_api, observe, 184),
      FIELD(streams_host_api, sink_retry_after, 192),  // 1.13
  };
  check(fields, sizeof fields / sizeof fields[0]);
  BOOST_TEST(sizeof(streams_host_api) == 200u);
  BOOST_TEST(STREAMS_ABI_MINOR == 13);  // a new minor adds its fields above (1.13: host api)

  streams_host_api api{};
  const struct {
    uint32_t size;  // struct_size of a host of that minor version
    bool branch, accumulator, detail, state;
  } hosts[] = {{48, false, false, false, false},
               {56, true, false, false, false},
               {64, true, true, false, false},
               {72, true, true, true, false},
               {104, true, true, true, true}};
  for (const auto& h : hosts) {
    api.struct_size = h.size;
    BOOST_TEST_CONTEXT("struct_size " << h.size) {
      BOOST_TEST(STREAMS_HAS_FIELD(&api, streams_host_api, log));
      BOOST_TEST(STREAMS_HAS_FIELD(&api, streams_host_api, select_branch) == h.branch);
      BOOST_TEST(STREAMS_HAS_FIELD(&api, streams_host_api, set_accumulator) == h.accumulator);
      BOOST_TEST(STREAMS_HAS_FIELD(&api, streams_host_api, set_error_detail) == h.detail);
      BOOST_TEST(STREAMS_HAS_FIELD(&api, streams_host_api, state_scan) == h.state);
    }
  }
}

// streams_function: 1.0 ends with process; 1.2 appended the aggregate's
// four; 1.5 the state version and migrate; 1.6 the sink's five; 1.10
// sink_batches_out.
BOOST_AUTO_TEST_CASE(function_per_minor_version) {
  const Field fields[] = {
      FIELD(streams_function, struct_size, 0),
      FIELD(streams_function, kind, 4),
      FIELD(streams_function, name, 8),
      FIELD(streams_function, create, 16),
      FIELD(streams_function, destroy, 24),
      FIELD(streams_function, process, 32),
      FIELD(streams_function, init, 40),
      FIELD(streams_function, add, 48),  // 1.2
      FIELD(streams_function, merge, 56),
      FIELD(streams_function, result, 64),
      FIELD(streams_function, state_version, 72),
      FIELD(streams_function, migrate, 80),  // 1.5
      FIELD(streams_function, sink_guarantee, 88),
      FIELD(streams_function, write_batch, 96),  // 1.6
      FIELD(streams_function, poll_sink, 104),
      FIELD(streams_function, flush_sink, 112),
      FIELD(streams_function, sink_partition, 120),
      FIELD(streams_function, sink_batches_out, 128),  // 1.10
  };
  check(fields, sizeof fields / sizeof fields[0]);
  BOOST_TEST(sizeof(streams_function) == 136u);
  BOOST_TEST(STREAMS_FUNCTION_SIZE_1_0 == 40u);

  streams_function f{};
  f.struct_size = STREAMS_FUNCTION_SIZE_1_0;
  BOOST_TEST(STREAMS_HAS_FIELD(&f, streams_function, process));
  BOOST_TEST(!STREAMS_HAS_FIELD(&f, streams_function, init));
  f.struct_size = 72;  // a 1.2-1.4 plugin
  BOOST_TEST(STREAMS_HAS_FIELD(&f, streams_function, result));
  BOOST_TEST(!STREAMS_HAS_FIELD(&f, streams_function, migrate));
  f.struct_size = 88;  // a 1.5 plugin
  BOOST_TEST(STREAMS_HAS_FIELD(&f, streams_function, migrate));
  BOOST_TEST(!STREAMS_HAS_FIELD(&f, streams_function, sink_partition));
  f.struct_size = 128;  // a 1.6-1.9 plugin
  BOOST_TEST(STREAMS_HAS_FIELD(&f, streams_function, sink_partition));
  BOOST_TEST(!STREAMS_HAS_FIELD(&f, streams_function, sink_batches_out));
  f.struct_size = sizeof f;
  BOOST_TEST(STREAMS_HAS_FIELD(&f, streams_function, sink_batches_out));
}

// 1.6: what a sink function's write_batch gets (1.9: views_until_report).
BOOST_AUTO_TEST_CASE(sink_batch_layout) {
  const Field fields[] = {
      FIELD(streams_sink_batch, struct_size, 0),
      FIELD(streams_sink_batch, attempt, 4),
      FIELD(streams_sink_batch, id, 8),
      FIELD(streams_sink_batch, topic, 16),
      FIELD(streams_sink_batch, partition, 24),
      FIELD(streams_sink_batch, first_offset, 32),
      FIELD(streams_sink_batch, last_offset, 40),
      FIELD(streams_sink_batch, record_count, 48),
      FIELD(streams_sink_batch, records, 56),
      FIELD(streams_sink_batch, offsets, 64),
      FIELD(streams_sink_batch, sequences, 72),
      FIELD(streams_sink_batch, bytes, 80),
      FIELD(streams_sink_batch, views_until_report, 88),
  };
  check(fields, sizeof fields / sizeof fields[0]);
  BOOST_TEST(sizeof(streams_sink_batch) == 96u);
}
