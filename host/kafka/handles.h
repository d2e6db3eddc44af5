// Owning handles over librdkafka objects (control and data plane): each
// destroys its object once, with librdkafka's own destructor.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

namespace streams::kafka {

namespace detail {
template <class T, void (*Destroy)(T*)>
struct Destroyer {
  void operator()(T* p) const {
    if (p) Destroy(p);
  }
};
}  // namespace detail

// A client closed as it is: a consumer that should leave its group first
// is closed by its owner (rd_kafka_consumer_close*) before this destroys it.
using Client = std::unique_ptr<rd_kafka_t, detail::Destroyer<rd_kafka_t, rd_kafka_destroy>>;
using Conf =
    std::unique_ptr<rd_kafka_conf_t, detail::Destroyer<rd_kafka_conf_t, rd_kafka_conf_destroy>>;
using Queue =
    std::unique_ptr<rd_kafka_queue_t, detail::Destroyer<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using Topic =
    std::unique_ptr<rd_kafka_topic_t, detail::Destroyer<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
using Message = std::unique_ptr<rd_kafka_message_t,
                                detail::Destroyer<rd_kafka_message_t, rd_kafka_message_destroy>>;
using Error =
    std::unique_ptr<rd_kafka_error_t, detail::Destroyer<rd_kafka_error_t, rd_kafka_error_destroy>>;
using PartitionList = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    detail::Destroyer<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;

inline PartitionList partition_list(int size) {
  return PartitionList(rd_kafka_topic_partition_list_new(size));
}

}  // namespace streams::kafka
