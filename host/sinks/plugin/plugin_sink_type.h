// `type: plugin` (implied by `plugin:` on a sink step): a sink whose writer
// is a sink function of a plugin (ABI 1.6), batched and retried by the host
// (plugin_sink.h).
#pragma once

#include "config/sink_type.h"

namespace streams::sinks {

// Keys: plugin, function (absent: the plugin's only sink function), config
// (merged under the steps_config entry's `config:`), batch_size,
// batch_bytes, batch_time_ms, retry_backoff_ms, retry_backoff_max_ms.
const config::SinkType& plugin_sink_type();

}  // namespace streams::sinks
