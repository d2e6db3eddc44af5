/* A plugin built for a hypothetical ABI major 2: exports only
 * streams_plugin_entry_v2. The host must refuse it by name and version. */
#include <stddef.h>
#include <stdint.h>

struct v2_descriptor {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
};

static const struct v2_descriptor descriptor = {sizeof(struct v2_descriptor), 2, 0};

__attribute__((visibility("default"))) const void* streams_plugin_entry_v2(void) {
  return &descriptor;
}
