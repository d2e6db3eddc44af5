// The changelog topics of a pipeline's stateful steps (state/changelog.h)
// on the source's cluster, with the source's override_params (its
// credentials): the topic of step S is steps_config.S.changelog_topic, else
// "<pipeline>-<S>-changelog", with one partition per source partition.
//
// Control plane: changelog_topics() and ensure_changelog_topics() at start.
// Data plane: a ChangelogWriter (an idempotent producer; acknowledgements
// are served by poll() and flush() on the calling thread) and a
// ChangelogReader (a consumer of its own per read, no group).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pipeline/generation.h"
#include "state/changelog.h"

namespace streams::kafka {

// The stateful steps of a generation and their topics, by step index.
struct ChangelogTopics {
  std::vector<std::string> steps;
  std::vector<std::string> topics;
  int index_of(const std::string& step) const;
};

ChangelogTopics changelog_topics(const pipeline::Generation& g);

// The largest changelog record a stateful step of `g` can write
// (state::changelog_record_bytes of its max_value_bytes), at least
// librdkafka's default message size: the max.message.bytes of the changelog
// topics the host creates.
uint64_t changelog_record_limit(const pipeline::Generation& g);

// Checks that each topic of `t` exists with the source topic's partition
// count, creating the missing ones (cleanup.policy=compact). False with
// *error naming the topic and what it needs.
bool ensure_changelog_topics(const pipeline::Generation& g, const ChangelogTopics& t,
                             const std::string& client_id, std::string* error);

// A segment run alone (pipeline/segments.h): creates the topic into the next
// segment when missing, with the source topic's partition count. False with
// *error naming it.
bool ensure_crossing_topic(const pipeline::Generation& g, const std::string& client_id,
                           std::string* error);

// Null with *error when the client cannot be made.
std::unique_ptr<state::ChangelogWriter> changelog_writer(const pipeline::Generation& g,
                                                         const ChangelogTopics& t,
                                                         const std::string& client_id,
                                                         std::string* error);
std::unique_ptr<state::ChangelogReader> changelog_reader(const pipeline::Generation& g,
                                                         const ChangelogTopics& t,
                                                         const std::string& client_id,
                                                         std::string* error);

}  // namespace streams::kafka
