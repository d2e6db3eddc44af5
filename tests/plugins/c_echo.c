/* A plugin written in C against the ABI alone, built with -g (debug
 * sections), for the loader tests: one map, "echo", that passes the record
 * on. The loader once refused such files as "not a streams plugin". */
#include <stdlib.h>
#include <streams/plugin_abi.h>

typedef struct echo {
  const streams_host_api* host;
} echo;

static void* echo_create(const streams_host_api* host, const char* config_json, size_t config_size,
                         char* error, size_t error_size) {
  (void)config_json, (void)config_size, (void)error, (void)error_size;
  echo* self = malloc(sizeof *self);
  if (self) self->host = host;
  return self;
}

static void echo_destroy(void* self) { free(self); }

static int32_t echo_process(void* instance, const streams_record* input, streams_call* call) {
  const echo* self = instance;
  streams_record out = *input;
  out.flags = 0;
  return self->host->emit(call, &out);
}

/* Designated initialisers: fields a later minor appends start zero. */
static const streams_function echo_function = {.struct_size = sizeof(streams_function),
                                               .kind = STREAMS_KIND_MAP,
                                               .name = "echo",
                                               .create = echo_create,
                                               .destroy = echo_destroy,
                                               .process = echo_process};
static const streams_function* const functions[] = {&echo_function};
static const streams_plugin plugin = {
    sizeof(streams_plugin), STREAMS_ABI_MAJOR, STREAMS_ABI_MINOR, "c_echo", "0.1.0", 1, functions};

const streams_plugin* STREAMS_PLUGIN_ENTRY(void) { return &plugin; }
