/*
 * streams plugin ABI, major version 1.
 *
 * The one binary contract between the streams host and a transform plugin.
 * Pure C, no host headers, no allocation across the boundary.
 *
 * Versioning
 *   - A plugin exports exactly one symbol, STREAMS_PLUGIN_ENTRY (its name
 *     carries the ABI major version). The host looks for it in the ELF symbol
 *     table before running any plugin code and refuses other majors.
 *   - Every struct starts with `struct_size`. A minor version only appends
 *     fields; a reader must check `struct_size` before touching a field that
 *     was appended after the version it was built against. The two view
 *     types used in arrays, streams_bytes and streams_header, are frozen for
 *     the whole major version and carry no size.
 *
 * Ownership (OWNERSHIP: in each doc comment)
 *   - Inputs are host-owned views valid for the duration of one call.
 *   - Outputs go through host callbacks; the host copies or forwards them
 *     before the callback returns, so plugin buffers need only live for the
 *     call.
 *   - Nothing a plugin allocates outlives a call except its instance, which
 *     the host destroys through `destroy`.
 *
 * Errors
 *   - No exception or longjmp may cross this boundary.
 *   - A per-record failure is reported by `set_error` + STREAMS_RECORD_ERROR;
 *     the host routes the input record to the error policy (DLQ or skip).
 *   - STREAMS_FATAL stops the pipeline; the input is not committed.
 */
#ifndef STREAMS_PLUGIN_ABI_H
#define STREAMS_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STREAMS_ABI_MAJOR 1
#define STREAMS_ABI_MINOR 13

/* The exported entry point; the suffix is the ABI major version. */
#define STREAMS_PLUGIN_ENTRY streams_plugin_entry_v1
#define STREAMS_PLUGIN_ENTRY_NAME "streams_plugin_entry_v1"
/* Prefix shared by every major, used by the host to name a mismatch. */
#define STREAMS_PLUGIN_ENTRY_PREFIX "streams_plugin_entry_v"

/* Return codes of `process` and of host callbacks (int32_t on the wire). */
enum {
  STREAMS_OK = 0,           /* processed; for a filter: keep the record */
  STREAMS_DROP = 1,         /* filter only: drop the record */
  STREAMS_RECORD_ERROR = 2, /* this record failed; reason set with set_error */
  STREAMS_FATAL = 3         /* unrecoverable: the host stops the pipeline */
};

/* Error kinds passed to set_error; they become the DLQ `error kind`. */
enum {
  STREAMS_ERR_INVALID_INPUT = 1, /* the record cannot be parsed or is invalid */
  STREAMS_ERR_PROCESSING = 2,    /* the plugin failed on a valid record */
  STREAMS_ERR_EXCEPTION = 3,     /* an exception was caught by the SDK */
  STREAMS_ERR_CONTRACT = 4       /* the plugin broke this contract (host-set) */
};

/* Function kinds. The pipeline step kind must match. */
enum {
  STREAMS_KIND_MAP = 1,       /* exactly one emit per input */
  STREAMS_KIND_FILTER = 2,    /* no emit; returns STREAMS_OK (keep) or STREAMS_DROP */
  STREAMS_KIND_FLAT_MAP = 3,  /* zero or more emits per input */
  STREAMS_KIND_ROUTE = 4,     /* 1.1: no emit; names the input's branch with
                                 select_branch and returns STREAMS_OK */
  STREAMS_KIND_AGGREGATE = 5, /* 1.2: a reduce step's aggregate: init, add, merge
                                and result below; process is unused */
  STREAMS_KIND_SINK = 6       /* 1.6: a sink step's writer (`plugin:` on a sink):
                                 write_batch and poll_sink below; process is unused */
};

/* 1.6: what became of a sink batch, for sink_ack. */
enum {
  STREAMS_SINK_WRITTEN = 0, /* stored for good: its inputs may be committed */
  STREAMS_SINK_RETRY = 1,   /* not stored, may be later (store down, timeout): the host
                               sends the same batch again after a backoff and sends no
                               later batch of that partition meanwhile (unless
                               sink_batches_out lets it) */
  STREAMS_SINK_REJECTED = 2 /* the store refuses it for good (a constraint, a type): the
                               host halves a batch of several records and sends the
                               halves, so that only the refused records, each alone, go
                               to the error policy (DLQ) with the reason */
};

/* 1.6: what a sink promises when its inputs are read again after a crash. */
enum {
  STREAMS_SINK_AT_LEAST_ONCE = 1, /* replayed records are written again */
  STREAMS_SINK_IDEMPOTENT = 2,    /* written again, but they land once (an upsert on a
                                     key, objects named by their offsets) */
  STREAMS_SINK_EXACTLY_ONCE = 3   /* the sink keeps its position in the store, written
                                     with the records, and skips what it already has */
};

/* Log levels for streams_host_api.log. */
enum { STREAMS_LOG_DEBUG = 0, STREAMS_LOG_INFO = 1, STREAMS_LOG_WARN = 2, STREAMS_LOG_ERROR = 3 };

/* Flags of streams_record.flags on emitted records: take the field from the
 * input of the current call instead of from the emitted record. */
#define STREAMS_INHERIT_KEY 0x1u
#define STREAMS_INHERIT_HEADERS 0x2u
#define STREAMS_INHERIT_TIMESTAMP 0x4u
#define STREAMS_INHERIT_ALL 0x7u

/* A byte view. data == NULL means absent (Kafka null), distinct from empty.
 * OWNERSHIP: borrowed; lifetime set by whoever hands it over. */
typedef struct streams_bytes {
  const uint8_t* data;
  size_t size;
} streams_bytes;

typedef struct streams_header {
  streams_bytes name;
  streams_bytes value;
} streams_header;

/* One record. As an input: host-owned, valid until the call returns. As an
 * emitted output: plugin-owned, copied or forwarded by the host inside emit. */
typedef struct streams_record {
  uint32_t struct_size;
  uint32_t flags; /* STREAMS_INHERIT_* on emit; 0 on inputs */
  streams_bytes key;
  streams_bytes value;
  const streams_header* headers; /* header_count entries, may be NULL if 0 */
  size_t header_count;
  int64_t timestamp_ms; /* -1 when unknown */
} streams_record;

/* Where the input of the current call was read from. Read-only, host-owned,
 * valid for the call. */
typedef struct streams_origin {
  uint32_t struct_size;
  const char* topic; /* NUL-terminated */
  int32_t partition;
  int64_t offset;
} streams_origin;

/* 1.6: records for a sink to write, all from one source partition, in
 * source order (one input's outputs in the order they were emitted). A
 * batch holds every output its inputs sent to the sink (it passes the
 * step's batch_size by at most one input's outputs), except the halves of
 * a rejected batch whose records all came from one input.
 * OWNERSHIP: host-owned, valid for the write_batch call only. */
typedef struct streams_sink_batch {
  uint32_t struct_size;
  uint32_t attempt;     /* 0, then 1, 2, ... when sent again after STREAMS_SINK_RETRY */
  uint64_t id;          /* names the batch in sink_ack */
  const char* topic;    /* the source topic, NUL-terminated */
  int32_t partition;    /* the source partition */
  int64_t first_offset; /* the source offset of records[0] */
  int64_t last_offset;  /* the source offset of records[record_count - 1] */
  size_t record_count;  /* at least 1 */
  const streams_record* records;
  const int64_t* offsets; /* the source offset of each record */
  /* Each record's index among the outputs its input sent to this sink:
   * (offsets[i], sequences[i]) increases along a partition's batches, and a
   * replay of the same inputs gives the same pairs (for deterministic
   * functions), so an exactly-once sink stores the last pair it wrote. */
  const uint32_t* sequences;
  size_t bytes; /* the records' key and value bytes */
  /* 1.9: nonzero when the bytes the records point to (keys, values, header
   * names and values; not the arrays records, offsets and sequences) stay
   * valid and unchanged until the batch is reported with sink_ack, or the
   * sink destroyed: a sink that writes them later, from a thread of its
   * own, may keep views of them instead of copies. Check it with
   * STREAMS_HAS_FIELD (a 1.6-1.8 host leaves it out). */
  uint32_t views_until_report;
} streams_sink_batch;

/* Opaque per-call host context; only valid during the call it is passed to. */
typedef struct streams_call streams_call;

/* Services the host offers. OWNERSHIP: host-owned, valid until the plugin
 * instance it was given to is destroyed. Thread: the call-scoped functions
 * (emit, set_error, origin) only on the thread running `process`, with the
 * `call` of that invocation; `log` from any thread. */
typedef struct streams_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  void* host_ctx; /* pass back to `log` */

  /* Emit one output derived from the current input. The host copies or
   * forwards `record` and everything it points to before returning.
   * Returns STREAMS_OK, STREAMS_RECORD_ERROR if the output was refused (for
   * example a second emit from a map), or STREAMS_FATAL when the host is
   * stopping; the plugin should then return promptly. */
  int32_t (*emit)(streams_call* call, const streams_record* record);

  /* Record why the current input failed. `message` is copied (need not be
   * NUL-terminated). Call before returning STREAMS_RECORD_ERROR. */
  void (*set_error)(streams_call* call, int32_t error_kind, const char* message, size_t size);

  /* Topic, partition and offset of the current input. Never NULL. */
  const streams_origin* (*origin)(streams_call* call);

  /* Log a line through the host's logger. `message` is copied. */
  void (*log)(void* host_ctx, int32_t level, const char* message, size_t size);

  /* --- 1.1: present when struct_size covers it --- */

  /* Route functions only: the branch (by its name in the pipeline file) the
   * current input takes. `branch` is copied. Returns STREAMS_OK, or
   * STREAMS_RECORD_ERROR when called twice or from another kind. An unknown
   * name is reported by the host as an error of the input. */
  int32_t (*select_branch)(streams_call* call, const char* branch, size_t size);

  /* --- 1.2 --- */

  /* Aggregate functions only (init, add, merge; and migrate, 1.5): the
   * accumulator the call produces (for migrate: the converted value). The host copies `data` and
   * keeps it between calls; the accumulator is bytes so that the platform, not the plugin, owns
   * window state. Returns STREAMS_OK, or STREAMS_RECORD_ERROR from other calls. */
  int32_t (*set_accumulator)(streams_call* call, const uint8_t* data, size_t size);

  /* --- 1.3 --- */

  /* Attach a named detail to the current input's error, besides the message
   * of set_error (say, an exception's type or traceback). A DLQ record
   * carries it as the header `streams.error.<name>`. `name`: 1 to 32 of
   * [a-z0-9_]; at most 8 details per call; `value` at most 64 KiB. Both are
   * copied. Returns STREAMS_OK, or STREAMS_RECORD_ERROR if refused. */
  int32_t (*set_error_detail)(streams_call* call, const char* name, size_t name_size,
                              const char* value, size_t value_size);

  /* --- 1.4: state --- */

  /* The step's state: a key-value store of this step and source partition
   * that the host keeps across restarts, rebalances and reloads. Keys and
   * values are opaque bytes (a key at most 64 KiB, a value at most the
   * step's state.max_value_bytes). Only from `process` of a step that
   * declares `state:` in the pipeline file.
   * Returns STREAMS_OK; STREAMS_RECORD_ERROR when the call is refused (no
   * state declared, a bound exceeded, a state call from inside a scan): the
   * host then reports the input as an error of the step (kind contract)
   * whatever process returns; STREAMS_FATAL when the store failed: the host
   * stops, the input is not committed, and process should return promptly.
   * Changes are the input's: after a crash the input is read again against
   * the state from before it (the host's checkpoint protocol).
   * OWNERSHIP: keys and values passed in are copied. Views the host hands
   * out (`value`, a scan's key and value) are valid until the next state
   * call or the end of the call, whichever comes first. */

  /* The value of `key` into *value; value->data is NULL when the key is
   * absent (or expired by state.ttl_ms). */
  int32_t (*state_get)(streams_call* call, const uint8_t* key, size_t key_size,
                       streams_bytes* value);
  int32_t (*state_put)(streams_call* call, const uint8_t* key, size_t key_size,
                       const uint8_t* value, size_t value_size);
  /* Erasing an absent key is not an error. */
  int32_t (*state_erase)(streams_call* call, const uint8_t* key, size_t key_size);
  /* Calls visit(ctx, key, value) for every key starting with `prefix`, in
   * byte order of keys, until visit returns non-zero. visit must not call
   * the state functions. */
  int32_t (*state_scan)(streams_call* call, const uint8_t* prefix, size_t prefix_size,
                        int32_t (*visit)(void* ctx, streams_bytes key, streams_bytes value),
                        void* ctx);

  /* --- 1.6: sinks --- */

  /* A sink's report on batch `batch_id` (streams_sink_batch.id): `outcome`
   * is STREAMS_SINK_WRITTEN, _RETRY or _REJECTED, `reason` (copied) says why
   * for the last two. Only from inside write_batch, poll_sink or flush_sink
   * of the instance that took the batch, with that call's `call`; once per
   * batch and attempt. Returns STREAMS_OK, or STREAMS_RECORD_ERROR for an
   * unknown or already reported id or an unknown outcome (ignored). */
  int32_t (*sink_ack)(streams_call* call, uint64_t batch_id, int32_t outcome, const char* reason,
                      size_t reason_size);

  /* --- 1.7 --- */

  /* Asks the host to call fn(arg) once, on the calling thread, when the
   * thread's current batch of inputs ends: before the thread waits for
   * input, serves a rebalance, swaps code, answers a query or stops, and
   * outside any plugin call. For a plugin that keeps a per-thread resource
   * across the calls of a batch instead of taking and releasing it per call
   * (the Python bridge keeps the GIL). Only from a process or aggregate
   * call, with that call's `call`. Returns STREAMS_OK when taken;
   * STREAMS_RECORD_ERROR when this thread takes no such request now (a
   * runtime without batches, such as a test driver, or too many pending):
   * the plugin then lets the resource go before its call returns. fn must
   * not call the host. */
  int32_t (*defer_to_batch_end)(streams_call* call, void (*fn)(void* arg), void* arg);

  /* --- 1.8: work handed to the next step --- */

  /* A step can leave what it computed from its input (a parse, say) to the
   * step that runs right after it on the same input, so that it is not done
   * twice: `share` leaves `value` under `tag`, and the next plugin call, when
   * its input is this call's input passed on unchanged (a filter that kept
   * it, a route), gets it back from `shared`; any other call gets NULL.
   * `tag`: an address of the plugin's own (of a static, say) naming what
   * `value` is, so no other plugin's step takes it for its own. Only from
   * `process`, with that call's `call`; at most 4 tags a call.
   * OWNERSHIP: `value` stays the plugin's: it must stay valid until the
   * sharing instance is called again or destroyed; the host only hands the
   * pointer on. Returns STREAMS_OK, or STREAMS_RECORD_ERROR when refused (a
   * NULL tag, too many, not in a process call): nothing is shared then. */
  int32_t (*share)(streams_call* call, const void* tag, void* value);
  void* (*shared)(streams_call* call, const void* tag);

  /* --- 1.11: the plugin's own counters --- */

  /* The step's counter `name` (1 to 64 of [a-z0-9_]), made on first use: a
   * handle for `count`, the same for every instance and generation of the
   * step; 0 when refused (a bad name, or the host's 256 counters taken: the
   * host logs why once). The host exports it with its own metrics, as
   * streams_plugin_<name>_total{pipeline, step} (Prometheus) and
   * streams.plugin_<name> (DogStatsD), and it survives reloads. Any thread;
   * meant for create (it takes a lock). */
  uint32_t (*counter)(void* host_ctx, const char* name, size_t name_size);
  /* Adds `n` to the counter `handle`; a handle of 0 is ignored. Any thread:
   * no lock, no allocation. */
  void (*count)(void* host_ctx, uint32_t handle, uint64_t n);

  /* --- 1.12: the plugin's own gauges and histograms --- */

  /* The step's gauge `name` (the same rules as a counter's; a name is one
   * kind, see below): a handle for gauge_set and gauge_add, the same for
   * every instance and generation of the step; 0 when refused (the host logs
   * why once). Exported as streams_plugin_<name>{pipeline, step} (Prometheus)
   * and streams.plugin_<name> (DogStatsD, |g). Its value is the step's, one
   * for all its instances: `gauge_set` for a value of the whole step (the
   * last set wins), `gauge_add` for one each instance holds a part of (the
   * entries of per-partition caches: add on insert, subtract on evict and
   * in destroy). Any thread; meant for create (it takes a lock). */
  uint32_t (*gauge)(void* host_ctx, const char* name, size_t name_size);
  /* Any thread: no lock, no allocation; a handle of 0 is ignored. */
  void (*gauge_set)(void* host_ctx, uint32_t handle, double value);
  void (*gauge_add)(void* host_ctx, uint32_t handle, double delta);
  /* The step's histogram `name`, with buckets whose upper bounds are
   * bounds[0..bounds_count) (finite, ascending, at most 16; copied), or with
   * NULL/0 the default, seconds: 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25
   * 0.5 1 2.5 5 10. A handle for `observe`, as `gauge`'s; a histogram made
   * before keeps its first bounds until the host restarts. Exported as
   * streams_plugin_<name>{pipeline, step} with _bucket, _sum and _count
   * (Prometheus only; the log exporter gives its count and sum). A name is
   * one kind in a host: another kind's name, or one whose series would be
   * another metric's (a counter's NAME_total, a histogram's NAME_sum...), is
   * refused. */
  uint32_t (*histogram)(void* host_ctx, const char* name, size_t name_size, const double* bounds,
                        size_t bounds_count);
  /* Counts `value` in its bucket and adds it to the sum. Any thread: no
   * lock, no allocation; a handle of 0 (or a NaN) is ignored. */
  void (*observe)(void* host_ctx, uint32_t handle, double value);

  /* --- 1.13: a store that says when to try again --- */

  /* As sink_ack(STREAMS_SINK_RETRY), but the host sends the batch again
   * after `delay_ms` rather than its backoff: the store said when (an HTTP
   * 429 or 503 with Retry-After, a quota's reset). The host waits at most
   * STREAMS_MAX_RETRY_AFTER_MS (a longer delay waits that long); a negative
   * one is taken as 0. Counted and logged as a retry. The same rules and
   * returns as sink_ack. */
  int32_t (*sink_retry_after)(streams_call* call, uint64_t batch_id, int64_t delay_ms,
                              const char* reason, size_t reason_size);
} streams_host_api;

/* 1.13: the longest wait sink_retry_after gives a batch (5 minutes). */
#define STREAMS_MAX_RETRY_AFTER_MS 300000

/* One named function of a plugin. OWNERSHIP: static storage in the plugin. */
typedef struct streams_function {
  uint32_t struct_size;
  int32_t kind;     /* STREAMS_KIND_* */
  const char* name; /* NUL-terminated, unique within the plugin */

  /* Create an instance for one partition of one pipeline step.
   * config_json: the step's `config:` subtree as JSON text ("{}" if absent),
   * NUL-terminated, valid during the call only.
   * On failure return NULL and write a NUL-terminated reason into
   * error[0..error_size). May be called on any thread. */
  void* (*create)(const streams_host_api* host, const char* config_json, size_t config_size,
                  char* error, size_t error_size);

  /* Destroy an instance. Called once, on any thread, never concurrently with
   * process() on the same instance. */
  void (*destroy)(void* instance);

  /* Process one input. Called on one thread at a time per instance; distinct
   * instances may run concurrently on different threads.
   * Returns STREAMS_OK, STREAMS_DROP (filters), STREAMS_RECORD_ERROR or
   * STREAMS_FATAL. */
  int32_t (*process)(void* instance, const streams_record* input, streams_call* call);

  /* --- 1.2: aggregates (kind STREAMS_KIND_AGGREGATE; process may be NULL) ---
   * A reduce step keeps one accumulator per open window and group. Each call
   * below returns STREAMS_OK, STREAMS_RECORD_ERROR (with set_error) or
   * STREAMS_FATAL. OWNERSHIP: `acc` views are host-owned, valid for the call. */

  /* The accumulator of an empty window: call set_accumulator once. */
  int32_t (*init)(void* instance, streams_call* call);
  /* Fold `input` into `acc`: call set_accumulator with the result. */
  int32_t (*add)(void* instance, streams_bytes acc, const streams_record* input,
                 streams_call* call);
  /* Combine `first` and then `second` (two consecutive parts of a window, in
   * input order): call set_accumulator with the result. */
  int32_t (*merge)(void* instance, streams_bytes first, streams_bytes second, streams_call* call);
  /* Emit the window's output(s) from `acc` (zero or more emits). `window`
   * describes the window: its key is the group key (null without group_by),
   * its timestamp the window's (time windows: end - 1; count windows: the
   * last record's); it has no value or headers. STREAMS_INHERIT_* flags take
   * fields from `window`. */
  int32_t (*result)(void* instance, streams_bytes acc, const streams_record* window,
                    streams_call* call);

  /* --- 1.5: state versions (map, filter, flat_map, route) --- */

  /* The form of the state values `process` writes: 0 (unversioned) or 1 to
   * STREAMS_MAX_STATE_VERSION. The host stores each value with the version
   * of the function that wrote it, so a new version of a plugin can convert
   * what an old one left. */
  uint32_t state_version;
  /* Converts `value`, written by version `from_version` of this function
   * (lower than state_version), to the current form: call set_accumulator
   * once with the result (copied), or return STREAMS_DROP to erase the key.
   * Called lazily, when a state_get or state_scan of `process` first meets
   * such a value (from inside that state call: migrate must not call the
   * state functions); state_get stores the result in place of the old value,
   * as a change of the input being processed. NULL: a value of an older
   * version is an error of the input that reads it, as is one a newer
   * version wrote. Returns STREAMS_OK, STREAMS_DROP, STREAMS_RECORD_ERROR
   * (with set_error: the input fails with that error) or STREAMS_FATAL.
   * OWNERSHIP: `value` is host-owned, valid for the call. */
  int32_t (*migrate)(void* instance, uint32_t from_version, streams_bytes value,
                     streams_call* call);

  /* --- 1.6: sinks (kind STREAMS_KIND_SINK; process may be NULL) ---
   * One instance per sink step and processing thread (not per partition):
   * it serves every partition that thread owns, and every call below comes
   * from that thread. The host batches the outputs (the step's batch_size,
   * batch_bytes, batch_time_ms), keeps at most one batch of a partition
   * unreported at a time (sink_batches_out, 1.10: more), and commits an input once every batch
   * holding its outputs was reported written (or rejected and dead-lettered). The only emit-like
   * callback a sink may use is sink_ack; the state functions are refused. Each returns STREAMS_OK,
   * or STREAMS_FATAL: the host stops and commits nothing that was not reported written. */

  /* STREAMS_SINK_*: what replays do to the store (shown by graph and
   * validate). 0 reads as STREAMS_SINK_AT_LEAST_ONCE. */
  uint32_t sink_guarantee;
  /* Takes a batch: copy what is kept. Report it with sink_ack, from this
   * call or a later poll_sink or flush_sink. */
  int32_t (*write_batch)(void* instance, const streams_sink_batch* batch, streams_call* call);
  /* Reports what completed since, waiting at most `timeout_ms` for
   * something to complete. Called on every turn of the processing loop. */
  int32_t (*poll_sink)(void* instance, int32_t timeout_ms, streams_call* call);
  /* May be NULL. The host is about to wait for the batches it sent, taking
   * no input meanwhile (a revocation, a stop, a bound reached): start
   * writing whatever the sink holds back. */
  int32_t (*flush_sink)(void* instance, streams_call* call);
  /* May be NULL. Source partition `partition` of `topic` (NUL-terminated)
   * is this thread's now (assigned = 1: called before the first batch of
   * the partition since it was assigned) or was revoked (0: after the host
   * waited for its batches, a bounded time). A sink that keeps a position
   * per partition reads it again after an assignment: another host may have
   * written meanwhile. */
  int32_t (*sink_partition)(void* instance, const char* topic, int32_t partition, int32_t assigned,
                            streams_call* call);

  /* --- 1.10: sinks whose writes commute --- */

  /* How many batches of one partition the host may have sent and not yet
   * seen reported. 0 reads as 1: a partition's batches go one at a time, in
   * source order. More suits a store where writes commute (rows appended to
   * a table without an order): a sink writing from a thread of its own then
   * has a partition's next batches while the first is being written, and
   * may write them together. Batches then complete in any order: a retried
   * or halved one may be written after later ones of its partition. A STREAMS_SINK_EXACTLY_ONCE
   * sink, whose position needs its partition's writes in order, must declare 0 or 1. The step's
   * max_in_flight bounds still bound what is out. */
  uint32_t sink_batches_out;
} streams_function;

#define STREAMS_MAX_STATE_VERSION 32767

/* True if `ptr` (a pointer to a struct of this ABI, type `type`) is large
 * enough to hold `field`: how a reader checks for a field appended after the
 * version it was built against, e.g.
 * STREAMS_HAS_FIELD(host, streams_host_api, set_error_detail). */
#define STREAMS_HAS_FIELD(ptr, type, field) \
  ((size_t)(ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* The size of a streams_function from before 1.2 (no aggregate fields). */
#define STREAMS_FUNCTION_SIZE_1_0 (offsetof(streams_function, process) + sizeof(void*))

/* The plugin descriptor. OWNERSHIP: static storage in the plugin, valid
 * while the library is loaded. */
typedef struct streams_plugin {
  uint32_t struct_size;
  uint16_t abi_major; /* must equal STREAMS_ABI_MAJOR of the host */
  uint16_t abi_minor;
  const char* name;    /* NUL-terminated */
  const char* version; /* NUL-terminated, free-form (semver advised) */
  size_t function_count;
  const streams_function* const* functions;
} streams_plugin;

/* The entry point. Must only return the static descriptor: no side effects,
 * no allocation. Called once per load. */
typedef const streams_plugin* (*streams_plugin_entry_fn)(void);

/* The entry point a plugin defines (STREAMS_PLUGIN does it in C++).
 * Declared here so the plugin's own tests, linked with its source, can call
 * it directly; the host never links against it, it looks it up. */
__attribute__((visibility("default"))) const streams_plugin* STREAMS_PLUGIN_ENTRY(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STREAMS_PLUGIN_ABI_H */
