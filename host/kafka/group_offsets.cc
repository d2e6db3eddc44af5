#include "kafka/group_offsets.h"

#include <algorithm>
#include <chrono>

#include "kafka/handles.h"
#include "kafka/kafka_conf.h"

namespace streams::kafka {
namespace {

using Clock = std::chrono::steady_clock;

std::string where(const std::string& topic, int32_t partition) {
  return topic + "[" + std::to_string(partition) + "]";
}

// Reads `partition` from `from` and calls `on(timestamp, offset)` for each
// record before `end` until it returns true (found) or the partition ends:
// *found_at is the offset it stopped at, or `end`. False with *error when no
// record comes for timeout_ms.
template <class On>
bool read_until(rd_kafka_t* consumer, const std::string& topic, int32_t partition, int64_t from,
                int64_t end, int timeout_ms, On on, int64_t* found_at, std::string* error) {
  *found_at = end;
  PartitionList at = partition_list(1);
  rd_kafka_topic_partition_list_add(at.get(), topic.c_str(), partition)->offset = from;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(consumer, at.get())) {
    *error = where(topic, partition) + ": " + rd_kafka_err2str(err);
    return false;
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool ok = true;
  for (int64_t next = from; next < end;) {
    if (Clock::now() >= deadline) {
      *error = where(topic, partition) + ": no record arrived for " + std::to_string(timeout_ms) +
               " ms before offset " + std::to_string(end);
      ok = false;
      break;
    }
    Message msg(rd_kafka_consumer_poll(consumer, 100));
    if (!msg || msg->partition != partition) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (msg->err) continue;  // a transient error: the poll goes on to the deadline
    deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    next = msg->offset + 1;
    if (msg->offset >= end) break;
    if (on(rd_kafka_message_timestamp(msg.get(), nullptr), msg->offset)) {
      *found_at = msg->offset;
      break;
    }
  }
  rd_kafka_assign(consumer, nullptr);
  return ok;
}

// Rebalances of commit_as_member(): takes what is assigned and notes it.
struct Membership {
  bool assigned = false;
  int held = 0;
};

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  auto* m = static_cast<Membership*>(opaque);
  const bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      Error e(rd_kafka_incremental_assign(rk, parts));
    } else {
      rd_kafka_assign(rk, parts);
    }
    m->assigned = true;
  } else if (cooperative) {
    Error e(rd_kafka_incremental_unassign(rk, parts));
  } else {
    rd_kafka_assign(rk, nullptr);
  }
  rd_kafka_topic_partition_list_t* held = nullptr;
  if (!rd_kafka_assignment(rk, &held)) {
    m->held = held->cnt;
    rd_kafka_topic_partition_list_destroy(held);
  }
}

// Whether a JoinGroup of `rk` was answered (the broker gave it a member id).
bool joined(rd_kafka_t* rk) {
  char* id = rd_kafka_memberid(rk);
  const bool has = id && *id;
  if (id) rd_kafka_mem_free(rk, id);
  return has;
}

}  // namespace

bool read_positions(rd_kafka_t* consumer, const std::string& topic, bool with_committed,
                    int timeout_ms, std::vector<PartitionPosition>* out, std::string* error) {
  out->clear();
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  {
    Topic rkt(rd_kafka_topic_new(consumer, topic.c_str(), nullptr));
    err = rd_kafka_metadata(consumer, 0, rkt.get(), &md, timeout_ms);
  }
  if (!err && (md->topic_cnt != 1 || md->topics[0].err)) {
    err = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  }
  if (err) {
    if (md) rd_kafka_metadata_destroy(md);
    *error = "topic " + topic + ": " + rd_kafka_err2str(err);
    return false;
  }
  PartitionList all = partition_list(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(all.get(), topic.c_str(), md->topics[0].partitions[i].id);
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_partition_list_sort(all.get(), nullptr, nullptr);
  if (with_committed && (err = rd_kafka_committed(consumer, all.get(), timeout_ms))) {
    *error = std::string("reading the group's committed offsets: ") + rd_kafka_err2str(err);
    return false;
  }
  for (int i = 0; i < all->cnt; ++i) {
    PartitionPosition p;
    p.partition = all->elems[i].partition;
    p.committed = with_committed && all->elems[i].offset >= 0 ? all->elems[i].offset : kNoOffset;
    err = rd_kafka_query_watermark_offsets(consumer, topic.c_str(), p.partition, &p.low, &p.high,
                                           timeout_ms);
    if (err) {
      *error = where(topic, p.partition) + ": " + rd_kafka_err2str(err);
      return false;
    }
    out->push_back(p);
  }
  return true;
}

bool offsets_for_time(rd_kafka_t* consumer, const std::string& topic,
                      const std::vector<PartitionPosition>& partitions, int64_t time_ms,
                      int timeout_ms, std::map<int32_t, int64_t>* out, int* read_through,
                      std::string* error) {
  *read_through = 0;
  PartitionList query = partition_list(static_cast<int>(partitions.size()));
  for (const PartitionPosition& p : partitions) {
    rd_kafka_topic_partition_list_add(query.get(), topic.c_str(), p.partition)->offset = time_ms;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(consumer, query.get(), timeout_ms)) {
    *error = "finding offsets by time on " + topic + ": " + rd_kafka_err2str(err);
    return false;
  }
  for (const PartitionPosition& p : partitions) {
    const rd_kafka_topic_partition_t* answer =
        rd_kafka_topic_partition_list_find(query.get(), topic.c_str(), p.partition);
    int64_t found = answer && answer->offset >= 0 ? answer->offset : -1;
    if (found < 0 && p.low < p.high) {
      // "None": true when the last record is older than time_ms.
      const auto at_or_after = [time_ms](int64_t ts, int64_t) { return ts >= time_ms; };
      int64_t last = p.high;
      if (!read_until(consumer, topic, p.partition, p.high - 1, p.high, timeout_ms, at_or_after,
                      &last, error)) {
        return false;
      }
      if (last < p.high) {
        ++*read_through;
        if (!read_until(consumer, topic, p.partition, p.low, p.high, timeout_ms, at_or_after,
                        &found, error)) {
          return false;
        }
      }
    }
    (*out)[p.partition] = found < 0 ? p.high : found;
  }
  return true;
}

rd_kafka_resp_err_t commit_offsets(rd_kafka_t* consumer, const std::string& topic,
                                   const std::map<int32_t, int64_t>& offsets, std::string* error) {
  if (offsets.empty()) return RD_KAFKA_RESP_ERR_NO_ERROR;
  PartitionList list = partition_list(static_cast<int>(offsets.size()));
  for (const auto& [partition, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer, list.get(), 0);
  for (int i = 0; !err && i < list->cnt; ++i) err = list->elems[i].err;
  if (err) *error = rd_kafka_err2str(err);
  return err;
}

bool commit_as_member(const std::vector<std::pair<std::string, std::string>>& settings,
                      const std::string& topic, const std::map<int32_t, int64_t>& offsets,
                      size_t partition_count, int timeout_ms, bool* others, std::string* error) {
  *others = false;
  Membership m;
  Conf conf(rd_kafka_conf_new());
  for (const auto& [key, value] : settings) {
    if (!set_setting(conf.get(), key, value, error)) return false;
  }
  route_tool_logs(conf.get());
  rd_kafka_conf_set_rebalance_cb(conf.get(), on_rebalance);
  rd_kafka_conf_set_opaque(conf.get(), &m);
  char reason[512];
  Client client(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), reason, sizeof reason));
  if (!client) {
    *error = reason;
    return false;
  }
  conf.release();  // the client owns it
  rd_kafka_t* rk = client.get();
  rd_kafka_poll_set_consumer(rk);
  PartitionList topics = partition_list(1);
  rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics.get());
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!err && !m.assigned && Clock::now() < deadline) {
    Message msg(rd_kafka_consumer_poll(rk, 100));
  }
  bool ok = false;
  if (err) {
    *error = std::string("joining the group: ") + rd_kafka_err2str(err);
  } else if (!m.assigned && joined(rk)) {
    // Alone, the tool leads its group and assigns itself every partition;
    // joined but never assigned, it followed another member's lead.
    *others = true;
    *error = "the group's other members did not complete a rebalance with the tool within " +
             std::to_string(timeout_ms) + " ms";
  } else if (!m.assigned) {
    *error =
        "the group assigned no partition to the tool within " + std::to_string(timeout_ms) + " ms";
  } else if (static_cast<size_t>(m.held) < partition_count) {
    *others = true;
    *error = "other members hold " + std::to_string(partition_count - m.held) + " of " +
             std::to_string(partition_count) + " partitions";
  } else {
    ok = !commit_offsets(rk, topic, offsets, error);
  }
  rd_kafka_consumer_close(rk);
  return ok;
}

int64_t reset_target(const PartitionPosition& p, const ResetTo& to, int64_t found,
                     bool none_at_earliest) {
  int64_t target = p.low;
  switch (to.kind) {
    case ResetTo::earliest:
      target = p.low;
      break;
    case ResetTo::latest:
      target = p.high;
      break;
    case ResetTo::offset:
      target = to.value;
      break;
    case ResetTo::shift: {
      const int64_t base =
          p.committed != kNoOffset ? p.committed : (none_at_earliest ? p.low : p.high);
      target = base + to.value;
      break;
    }
    case ResetTo::time:
      target = found;
      break;
  }
  return std::clamp(target, p.low, p.high);
}

}  // namespace streams::kafka
