// Segments: a pipeline cut into parts that run as separate processes linked
// by Kafka topics (control plane, before a Generation is built).
//
// Deployment segment N (N > 0) starts at the main-line step whose
// steps_config entry in pipeline.segments[N] says `starts_segment: true`;
// segment 0 starts at the source. Segment N runs the main-line steps from
// its first up to the next segment's first (with their branches), reading
// what crosses into it from an intermediate topic: `topic` of its first
// step's entry, default `<pipeline>-<step>`. Its source is named after that
// step, so the entry configures it (bootstrap_servers, by default the
// pipeline source's; consumer_group, default pipeline-<step>; dlq,
// error_policy, commit and backpressure settings). The segment before it ends
// in a Kafka sink of the same name writing to that topic: a record crosses
// with its key (records of one key keep their order), headers and
// timestamp, and an input of segment N-1 is committed once what it sent
// across is acknowledged, as for any sink.
#pragma once

#include <cstddef>

#include "config/deployment_config.h"
#include "config/diagnostics.h"
#include "config/pipeline_config.h"

namespace streams::pipeline {

// The intermediate topic into segment `n` (n > 0) of a split pipeline.
std::string segment_topic(const config::PipelineSpec& pipeline,
                          const config::DeploymentConfig& deployment, size_t n);

// Replaces *pipeline and *deployment by what runs segment `n` alone (see
// above; a one-segment deployment is left as it is). False with errors in
// `diag`: no segment n, a segment no step starts, a start inside a branch.
// `components`: the step and sink types, for the crossing sink.
bool cut_segment(config::PipelineSpec* pipeline, config::DeploymentConfig* deployment, size_t n,
                 const config::Components& components, config::Diagnostics& diag);

// For running every segment in one process without intermediate topics:
// the steps_config entries of every deployment segment merged into
// segment 0's (a step's own segment's entry first).
void join_segments(config::DeploymentConfig* deployment);

}  // namespace streams::pipeline
