#include "kafka/partition_names.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace streams::kafka {
namespace {

struct Entry {
  size_t topic_rank;  // the order of the topic's first appearance
  int32_t partition;
  int64_t offset;
};

std::vector<Entry> sorted_entries(const rd_kafka_topic_partition_list_t* parts,
                                  std::vector<std::string_view>* topics) {
  std::vector<Entry> entries;
  entries.reserve(static_cast<size_t>(parts->cnt));
  for (int i = 0; i < parts->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = parts->elems[i];
    const auto known = std::find(topics->begin(), topics->end(), tp.topic);
    const auto rank = static_cast<size_t>(known - topics->begin());
    if (known == topics->end()) topics->push_back(tp.topic);
    entries.push_back({rank, tp.partition, tp.offset});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.topic_rank != b.topic_rank ? a.topic_rank < b.topic_rank : a.partition < b.partition;
  });
  return entries;
}

}  // namespace

std::string partition_ranges(std::vector<int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  std::string out;
  for (size_t i = 0; i < partitions.size();) {
    size_t last = i;
    while (last + 1 < partitions.size() && partitions[last + 1] == partitions[last] + 1) ++last;
    out += (i ? ", " : "") + std::to_string(partitions[i]);
    if (last > i) out += "-" + std::to_string(partitions[last]);
    i = last + 1;
  }
  return out;
}

std::string partition_names(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<std::string_view> topics;
  const std::vector<Entry> entries = sorted_entries(parts, &topics);
  std::string out;
  for (size_t i = 0; i < entries.size();) {
    const Entry& first = entries[i];
    const bool new_topic = i == 0 || entries[i - 1].topic_rank != first.topic_rank;
    if (new_topic) {
      out += (i ? "], " : "") + std::string(topics[first.topic_rank]) + "[";
    } else {
      out += ", ";
    }
    out += std::to_string(first.partition);
    size_t last = i;
    while (first.offset < 0 && last + 1 < entries.size() &&
           entries[last + 1].topic_rank == first.topic_rank && entries[last + 1].offset < 0 &&
           entries[last + 1].partition == entries[last].partition + 1) {
      ++last;
    }
    if (last > i) out += "-" + std::to_string(entries[last].partition);
    if (first.offset >= 0) out += "@" + std::to_string(first.offset);
    i = last + 1;
  }
  return out.empty() ? "no partitions" : out + "]";
}

}  // namespace streams::kafka
