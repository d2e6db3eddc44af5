// Partition lists as log text (control plane: assignments, revocations,
// commits): "topic[0-3, 7@120]", consecutive partitions without an offset
// as one range, so a rebalance of hundreds of partitions is one short line.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>
#include <vector>

namespace streams::kafka {

// "no partitions" for an empty list; topics in the order they first appear,
// each one's partitions in ascending order.
std::string partition_names(const rd_kafka_topic_partition_list_t* parts);

// "0-3, 7": `partitions` (any order, sorted here) with consecutive ones as
// a range.
std::string partition_ranges(std::vector<int32_t> partitions);

}  // namespace streams::kafka
