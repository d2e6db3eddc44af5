/* Prints the layout of the ABI's structs as the C compiler sees them:
 * "STRUCT size N" and "STRUCT.FIELD OFFSET SIZE" lines, for abi_layout.rs. */
#include <stddef.h>
#include <stdio.h>

#include <streams/plugin_abi.h>

#define STRUCT(t) printf(#t " size %zu\n", sizeof(t))
#define FIELD(t, f) printf(#t "." #f " %zu %zu\n", offsetof(t, f), sizeof(((t*)0)->f))
#define CONSTANT(c) printf(#c " %lld\n", (long long)(c))

int main(void) {
  STRUCT(streams_bytes);
  FIELD(streams_bytes, data);
  FIELD(streams_bytes, size);
  STRUCT(streams_header);
  FIELD(streams_header, name);
  FIELD(streams_header, value);
  STRUCT(streams_record);
  FIELD(streams_record, struct_size);
  FIELD(streams_record, flags);
  FIELD(streams_record, key);
  FIELD(streams_record, value);
  FIELD(streams_record, headers);
  FIELD(streams_record, header_count);
  FIELD(streams_record, timestamp_ms);
  STRUCT(streams_origin);
  FIELD(streams_origin, struct_size);
  FIELD(streams_origin, topic);
  FIELD(streams_origin, partition);
  FIELD(streams_origin, offset);
  STRUCT(streams_sink_batch);
  FIELD(streams_sink_batch, struct_size);
  FIELD(streams_sink_batch, attempt);
  FIELD(streams_sink_batch, id);
  FIELD(streams_sink_batch, topic);
  FIELD(streams_sink_batch, partition);
  FIELD(streams_sink_batch, first_offset);
  FIELD(streams_sink_batch, last_offset);
  FIELD(streams_sink_batch, record_count);
  FIELD(streams_sink_batch, records);
  FIELD(streams_sink_batch, offsets);
  FIELD(streams_sink_batch, sequences);
  FIELD(streams_sink_batch, bytes);
  FIELD(streams_sink_batch, views_until_report);
  STRUCT(streams_host_api);
  FIELD(streams_host_api, struct_size);
  FIELD(streams_host_api, abi_major);
  FIELD(streams_host_api, abi_minor);
  FIELD(streams_host_api, host_ctx);
  FIELD(streams_host_api, emit);
  FIELD(streams_host_api, set_error);
  FIELD(streams_host_api, origin);
  FIELD(streams_host_api, log);
  FIELD(streams_host_api, select_branch);
  FIELD(streams_host_api, set_accumulator);
  FIELD(streams_host_api, set_error_detail);
  FIELD(streams_host_api, state_get);
  FIELD(streams_host_api, state_put);
  FIELD(streams_host_api, state_erase);
  FIELD(streams_host_api, state_scan);
  FIELD(streams_host_api, sink_ack);
  FIELD(streams_host_api, defer_to_batch_end);
  FIELD(streams_host_api, share);
  FIELD(streams_host_api, shared);
  FIELD(streams_host_api, counter);
  FIELD(streams_host_api, count);
  FIELD(streams_host_api, gauge);
  FIELD(streams_host_api, gauge_set);
  FIELD(streams_host_api, gauge_add);
  FIELD(streams_host_api, histogram);
  FIELD(streams_host_api, observe);
  FIELD(streams_host_api, sink_retry_after);
  STRUCT(streams_function);
  FIELD(streams_function, struct_size);
  FIELD(streams_function, kind);
  FIELD(streams_function, name);
  FIELD(streams_function, create);
  FIELD(streams_function, destroy);
  FIELD(streams_function, process);
  FIELD(streams_function, init);
  FIELD(streams_function, add);
  FIELD(streams_function, merge);
  FIELD(streams_function, result);
  FIELD(streams_function, state_version);
  FIELD(streams_function, migrate);
  FIELD(streams_function, sink_guarantee);
  FIELD(streams_function, write_batch);
  FIELD(streams_function, poll_sink);
  FIELD(streams_function, flush_sink);
  FIELD(streams_function, sink_partition);
  FIELD(streams_function, sink_batches_out);
  STRUCT(streams_plugin);
  FIELD(streams_plugin, struct_size);
  FIELD(streams_plugin, abi_major);
  FIELD(streams_plugin, abi_minor);
  FIELD(streams_plugin, name);
  FIELD(streams_plugin, version);
  FIELD(streams_plugin, function_count);
  FIELD(streams_plugin, functions);
  printf("minor %d\n", STREAMS_ABI_MINOR);
  CONSTANT(STREAMS_KIND_SINK);
  CONSTANT(STREAMS_SINK_WRITTEN);
  CONSTANT(STREAMS_SINK_RETRY);
  CONSTANT(STREAMS_SINK_REJECTED);
  CONSTANT(STREAMS_SINK_AT_LEAST_ONCE);
  CONSTANT(STREAMS_SINK_IDEMPOTENT);
  CONSTANT(STREAMS_SINK_EXACTLY_ONCE);
  CONSTANT(STREAMS_MAX_RETRY_AFTER_MS);
  CONSTANT(STREAMS_MAX_STATE_VERSION);
  return 0;
}
