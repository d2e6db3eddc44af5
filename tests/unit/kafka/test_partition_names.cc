// Partition lists as log text: ranges of consecutive partitions without an
// offset, each offset shown, topics in their first appearance's order.
#define BOOST_TEST_MODULE partition_names
#include "kafka/partition_names.h"

#include <boost/test/unit_test.hpp>
#include <utility>
#include <vector>

#include "kafka/handles.h"

using namespace streams;

namespace {

struct Tp {
  const char* topic;
  int32_t partition;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
};

std::string names(const std::vector<Tp>& tps) {
  kafka::PartitionList list = kafka::partition_list(static_cast<int>(tps.size()));
  for (const Tp& tp : tps) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic, tp.partition)->offset = tp.offset;
  }
  return kafka::partition_names(list.get());
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_and_single) {
  BOOST_TEST(names({}) == "no partitions");
  BOOST_TEST(names({{"in", 0}}) == "in[0]");
  BOOST_TEST(names({{"in", 3, 120}}) == "in[3@120]");
}

BOOST_AUTO_TEST_CASE(consecutive_partitions_are_one_range) {
  std::vector<Tp> all;
  for (int32_t p = 499; p >= 0; --p) all.push_back({"big", p});  // any order
  BOOST_TEST(names(all) == "big[0-499]");
  BOOST_TEST(names({{"in", 0}, {"in", 1}, {"in", 3}, {"in", 5}, {"in", 6}}) == "in[0-1, 3, 5-6]");
}

BOOST_AUTO_TEST_CASE(offsets_break_ranges) {
  BOOST_TEST(names({{"in", 0}, {"in", 1, 7}, {"in", 2}, {"in", 3}}) == "in[0, 1@7, 2-3]");
  BOOST_TEST(names({{"in", 0, 5}, {"in", 1, 9}}) == "in[0@5, 1@9]");
}

BOOST_AUTO_TEST_CASE(topics_in_their_first_order) {
  BOOST_TEST(names({{"b", 1}, {"a", 0}, {"b", 0}, {"a", 1}}) == "b[0-1], a[0-1]");
}

BOOST_AUTO_TEST_CASE(numbers_as_ranges) {
  BOOST_TEST(kafka::partition_ranges({}) == "");
  BOOST_TEST(kafka::partition_ranges({4, 0, 2, 1, 7}) == "0-2, 4, 7");
}
