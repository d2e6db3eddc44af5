/* A plugin that breaks the ABI on purpose, in C (the C++ SDK does not let
 * one): the host must turn each misuse into a contract error of the record.
 *   null_value     emits a value {NULL, 5}
 *   null_error     set_error(NULL, 10)
 *   stale_call     keeps its first call and emits through it on the next
 *   unterminated   create fails with a reason that fills the buffer, no NUL
 */
#include <stdlib.h>
#include <streams/plugin_abi.h>
#include <string.h>

typedef struct abuser {
  const streams_host_api* host;
  streams_call* kept;
} abuser;

static void* make(const streams_host_api* host, const char* config, size_t config_size, char* error,
                  size_t error_size) {
  (void)config, (void)config_size, (void)error, (void)error_size;
  abuser* self = calloc(1, sizeof *self);
  if (self) self->host = host;
  return self;
}

static void* make_unterminated(const streams_host_api* host, const char* config, size_t config_size,
                               char* error, size_t error_size) {
  (void)host, (void)config, (void)config_size;
  memset(error, 'x', error_size);
  return NULL;
}

static void drop(void* self) { free(self); }

static int32_t null_value(void* instance, const streams_record* input, streams_call* call) {
  const abuser* self = instance;
  streams_record out = *input;
  out.flags = 0;
  out.value.data = NULL;
  out.value.size = 5;
  return self->host->emit(call, &out);
}

static int32_t null_error(void* instance, const streams_record* input, streams_call* call) {
  const abuser* self = instance;
  (void)input;
  self->host->set_error(call, STREAMS_ERR_PROCESSING, NULL, 10);
  return STREAMS_RECORD_ERROR;
}

static int32_t stale_call(void* instance, const streams_record* input, streams_call* call) {
  abuser* self = instance;
  streams_record out = *input;
  out.flags = 0;
  if (!self->kept) {
    self->kept = call;
    return self->host->emit(call, &out);
  }
  self->host->emit(self->kept, &out); /* the call of an earlier record */
  return self->host->emit(call, &out);
}

#define FUNCTION(fn, make_fn)                                                             \
  static const streams_function fn##_function = {.struct_size = sizeof(streams_function), \
                                                 .kind = STREAMS_KIND_MAP,                \
                                                 .name = #fn,                             \
                                                 .create = make_fn,                       \
                                                 .destroy = drop,                         \
                                                 .process = fn};
FUNCTION(null_value, make)
FUNCTION(null_error, make)
FUNCTION(stale_call, make)
static const streams_function unterminated_function = {.struct_size = sizeof(streams_function),
                                                       .kind = STREAMS_KIND_MAP,
                                                       .name = "unterminated",
                                                       .create = make_unterminated,
                                                       .destroy = drop,
                                                       .process = null_value};

static const streams_function* const functions[] = {&null_value_function, &null_error_function,
                                                    &stale_call_function, &unterminated_function};
static const streams_plugin plugin = {
    sizeof(streams_plugin), STREAMS_ABI_MAJOR, STREAMS_ABI_MINOR, "abuser", "0.1.0", 4, functions};

const streams_plugin* STREAMS_PLUGIN_ENTRY(void) { return &plugin; }
