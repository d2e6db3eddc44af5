// Processing threads (the source's `parallelism: N`): N runtimes in one
// process, each on a thread of its own and a member of the consumer group
// with its own consumer, producers and changelog clients, as Kafka Streams'
// num.stream.threads. Each thread owns the partitions the group assigns it,
// so per-partition order, commits, backpressure, state and plugin instances
// stay per partition exactly as with one thread; replicas and threads share
// the group alike. Each thread writes its own metrics shard.
//
// A swap goes ahead in every thread or in none (pipeline::SwapBarrier): each
// thread builds its successors between two inputs and waits for the others
// (a thread restoring state takes the swap once its restores are done). A
// thread that stops with an error stops the others; run() returns the worst
// exit status. State queries go to the thread that has the partition.
//
// Thread: as KafkaRuntime. run() runs thread 1 on the caller's thread and
// the others on threads it starts and joins.
#pragma once

#include <memory>
#include <vector>

#include "runtime/kafka_runtime.h"

namespace streams::kafka {

// `threads` (two or more) run as one runtime; `leave` (null: none) is the
// one they were made with (RuntimeOptions::leave), whose first arrival stops
// them all.
std::unique_ptr<KafkaRuntime> threaded_runtime(std::vector<std::unique_ptr<KafkaRuntime>> threads,
                                               std::shared_ptr<LeaveTogether> leave = nullptr);

}  // namespace streams::kafka
