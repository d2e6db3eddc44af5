// The streams-host subcommands, separated from argument parsing.
// Each returns the process exit status: 0 ok, 1 runtime failure,
// 2 bad configuration or usage.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/state_query.h"

namespace streams::cli {

// "streams-host 0.2.0 (plugin ABI 1.2, librdkafka 2.0.2)".
std::string version_text();

struct PipelineArgs {
  std::string pipeline_path;
  std::string config_path;
  std::string plugins_dir;  // empty: deployment `plugins_dir`, else ./plugins
  // The deployment segment to run alone (pipeline/segments.h); -1: every
  // segment in one process, without intermediate topics.
  int segment_id = -1;
  std::string pipeline_name;  // -n: overrides the pipeline file's name (metrics label, logs)
  // Plugin files that resolve outside the plugins directory (symlinks), and
  // plugin files or directories writable by group or others, are refused
  // unless these are set.
  bool allow_plugins_outside_dir = false;
  bool allow_writable_plugins = false;
};

// `streams-host validate`.
struct ValidateArgs {
  PipelineArgs pipeline;
  bool topics = false;  // look the topics up on their brokers
  int timeout_ms = 10000;
};

struct RunArgs {
  PipelineArgs pipeline;  // config_path may be empty with runtime "local"
  std::string runtime = "kafka";
  std::string client_id;  // empty: streams-host-<pipeline name>
  std::string adapter;    // the original's -a; one runtime here
  std::string log_level = "info";
  std::string log_format = "text";  // or json
  std::string error_policy;         // empty: the deployment's
  // kafka runtime: the admin endpoint on 127.0.0.1 (-1: none, 0: any free
  // port), and whether changed files trigger a reload.
  int admin_port = -1;
  std::string admin_address = "127.0.0.1";  // elsewhere needs a token
  std::string admin_token_file;             // empty: $STREAMS_ADMIN_TOKEN, if set
  bool metrics_without_token = false;       // GET /metrics answers without the token
  bool watch = true;
  int liveness_timeout_ms = 30000;
  int readiness_commit_age_ms = 60000;
  int not_ready_error_ms = 300000;
  int reload_timeout_ms = 10000;  // a reload not switched by then is refused
  std::string healthcheck_file;   // empty: none
  // The crash journal's directory (empty: $STREAMS_STATE_DIR, else
  // /var/tmp/streams-host).
  std::string state_dir;
  // Start, or reload, although the stores hold state of steps the pipeline
  // no longer keeps (that state is left unused).
  bool allow_dropped_state = false;
  // Start paused (as after POST /pause): nothing is read until resumed.
  bool paused = false;
  // local runtime
  std::string input = "-";
  std::string input_format = "lines";
  std::vector<std::string> outputs;  // SINK=PATH
};

struct GraphArgs {
  std::string pipeline_path;
  std::string config_path;  // optional: segments come from it
  std::string format = "mermaid";
};

// `streams-host render k8s`: Kubernetes objects for a pipeline's segments.
struct RenderArgs {
  std::string pipeline_path;
  std::string config_path;
  std::string image;
  std::string ns;
  int replicas = 1;
  int admin_port = 9100;
  std::string token_secret;         // empty: streams-<pipeline>-admin-token
  bool metrics_need_token = false;  // else /metrics is open, annotated for Prometheus
  std::string plugins_claim;        // empty: streams-<pipeline>-plugins
  std::string state_size = "10Gi";
  std::vector<std::string> env;         // NAME=VALUE
  std::vector<std::string> secret_env;  // NAME=SECRET:KEY
  std::vector<std::string> files;       // extra files for the ConfigMap
};

// `streams-host dlq replay` and `dlq show`.
struct DlqArgs {
  std::string config_path;  // the deployment naming the DLQ...
  std::string source;       // ...on this source (needed when several have one)
  int segment_id = 0;
  std::string brokers;  // ...or the DLQ's brokers and topic given directly
  std::string dlq_topic;
  std::string target_brokers;  // default: the source's brokers, else the DLQ's
  std::string to_topic;
  std::vector<std::string> kinds;
  std::vector<std::string> steps;
  std::string group;
  bool include_derived = false;
  int timeout_ms = 30000;
  std::vector<std::string> settings;         // -X KEY=VALUE: librdkafka, for both clients
  std::vector<std::string> target_settings;  // replay: for its producer only, after -X
  uint64_t limit = 0;                        // show: records shown at most (0: all)
  std::string format = "text";               // show: text or json
};

// `streams-host offsets show` and `offsets reset`: a pipeline's consumer
// groups on their topics.
struct OffsetsArgs {
  std::string pipeline_path;
  std::string config_path;
  int segment_id = -1;          // -1: show every segment; reset: the only one
  std::vector<int> partitions;  // empty: all
  bool reset = false;
  // reset: exactly one of these
  bool to_earliest = false;
  bool to_latest = false;
  int64_t to_offset = -1;
  int64_t shift_by = 0;
  std::string to_datetime;
  std::string by_duration;
  bool execute = false;  // else a dry run: the plan only
  bool force = false;    // move a stateful segment back
  std::string format = "text";
  std::vector<std::string> settings;  // -X KEY=VALUE
  int timeout_ms = 30000;
};

// `streams-host reload` and `status`: a running host's admin endpoint.
struct AdminArgs {
  int admin_port = 0;
  std::string admin_address = "127.0.0.1";
  std::string admin_token_file;  // empty: $STREAMS_ADMIN_TOKEN, if set
  int timeout_ms = 120000;
};

// `streams-host pause --config` and `resume --config`: every host of a
// segment, through the control topic (kafka/control_topic.h).
struct SegmentArgs {
  std::string pipeline_path;
  std::string config_path;            // empty: one host, through admin
  int segment_id = -1;                // -1: the only one
  std::vector<std::string> settings;  // -X KEY=VALUE
};

// `streams-host pause`: one host (admin) or a segment; waits until drained
// unless `no_wait`, within admin.timeout_ms.
struct PauseArgs {
  AdminArgs admin;
  SegmentArgs segment;
  bool no_wait = false;
};

struct ResumeArgs {
  AdminArgs admin;
  SegmentArgs segment;
};

// `streams-host log-level`: print (no level) or set the running host's
// log level, for a duration when `for_duration` is given.
struct LogLevelArgs {
  AdminArgs admin;
  std::string level;
  std::string for_duration;
};

// `streams-host state get|scan`: a stateful step's state on a running host
// (--admin-port), or in its store on disk (--config and --pipeline).
struct StateArgs {
  AdminArgs admin;
  bool scan = false;
  std::string step;
  int partition = 0;
  std::string key;  // get: the key; scan: --prefix
  int limit = 100;
  std::string config;    // the deployment config: read the store on disk
  std::string pipeline;  // and the pipeline file
  int segment_id = -1;   // the segment (-1: the only one)
  std::string state_dir;
};

int run_command(const RunArgs& args, const std::atomic<bool>& stop);
int render_k8s_command(const RenderArgs& args);
// The admin token: the first line of `file`, else $STREAMS_ADMIN_TOKEN, else
// none (empty). False with *error if `file` is given but holds no token.
bool admin_token(const std::string& file, std::string* token, std::string* error);
// Exit status 0: applied or unchanged; 1: refused; 2: no answer.
int reload_command(const AdminArgs& args);
int status_command(const AdminArgs& args);
// Exit status 0: paused (and drained, unless no_wait) / running again; 1:
// refused, not drained in time, or resumed meanwhile (pause), still paused
// (resume); 2: no answer.
int pause_command(const PauseArgs& args);
int resume_command(const ResumeArgs& args);
// Exit status 0: shown or set; 1: refused; 2: no answer or bad arguments.
int log_level_command(const LogLevelArgs& args);
// Exit status 0: found; 1: absent or refused; 2: no answer, or no store.
int state_command(const StateArgs& args);
// The same read from the store on disk (cli/stored_state.cc).
int stored_state_command(const StateArgs& args, const pipeline::StateQuery& q);
int graph_command(const GraphArgs& args);
// Exit status 0: valid (and the topics there); 1: a topic the host needs is
// missing or unfit; 2: the files do not load, or the brokers do not answer.
int validate_command(const ValidateArgs& args);
int dlq_replay_command(const DlqArgs& args, const std::atomic<bool>& stop);
int dlq_show_command(const DlqArgs& args, const std::atomic<bool>& stop);
// Exit status 0: shown, planned or moved; 1: refused (a running group, a
// stateful segment moved back without --force); 2: bad arguments or no
// answer from the brokers.
int offsets_command(const OffsetsArgs& args);

}  // namespace streams::cli
