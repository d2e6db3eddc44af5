// The Kubernetes objects that run a pipeline, one workload per deployment
// segment (`streams-host render k8s`). Control plane; pure: the caller reads
// the files and prints the text.
//
// For each segment N of the deployment config:
//   - a Deployment running `streams-host run --segment-id N` in the image
//     packaging/Dockerfile builds, or a StatefulSet with a volume claim for
//     its state directory when a step of the segment keeps state;
//   - a PodDisruptionBudget (one pod of the segment down at a time);
//   - a Service for the admin port (/metrics, /livez, /readyz).
// And one ConfigMap with the pipeline file, the deployment config and any
// extra files (schemas, Python modules), mounted at /etc/streams, those of
// a directory there too. The pods' template carries
// a `configVersion` annotation, a hash of those files, so that a changed
// config rolls the pods.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/deployment_config.h"
#include "config/pipeline_config.h"

namespace streams::config {

struct K8sOptions {
  std::string image;      // required
  std::string ns;         // empty: no namespace in the objects (kubectl's)
  int replicas = 1;       // pods per segment
  int admin_port = 9100;  // the image's EXPOSE
  // The admin endpoint listens on every address, so it needs a token: the
  // key `token` of this Secret (empty: <name>-admin-token), which the user
  // creates.
  std::string token_secret;
  // Else the pods run --metrics-without-token and carry the annotations
  // prometheus.io/scrape, port and path, which a Prometheus that discovers
  // pods (kubernetes_sd_configs) commonly keeps.
  bool metrics_need_token = false;
  // The PersistentVolumeClaim holding the plugins directory (mounted read
  // only at the image's /var/lib/streams/plugins); empty: <name>-plugins.
  std::string plugins_claim;
  std::string state_size = "10Gi";  // a stateful segment's volume per pod
  // Container environment (NAME, value): every ${envvar:NAME} the
  // deployment config uses must have one.
  std::vector<std::pair<std::string, std::string>> env;
  // Container environment from the user's Secrets: NAME from key `key` of
  // Secret `secret` (a password the config takes as ${envvar:NAME}, never
  // written into the objects).
  struct SecretEnv {
    std::string name, secret, key;
  };
  std::vector<SecretEnv> secret_env;
};

// A file for the ConfigMap: its key there, its text, and where the pods
// find it under /etc/streams (empty: at its key; "schemas/x.schema.json":
// in a directory, which a key cannot name).
struct K8sFile {
  std::string name;
  std::string text;
  std::string path;
};

// `files`: the pipeline file first, the deployment config second, then any
// extra. Returns the objects as one YAML stream ("---" between them), or ""
// with *error (a missing image, an ${envvar:NAME} without --env or
// --env-secret).
std::string render_k8s(const PipelineSpec& pipeline, const DeploymentConfig& deployment,
                       const std::vector<K8sFile>& files, const K8sOptions& options,
                       std::string* error);

// The places (dotted key paths) in a deployment config's text where a
// secret is written out rather than taken from ${envvar:NAME}: a key such
// as a password or a secret (connection_settings.h), or a value holding
// "password=" (a conninfo). The file goes into a ConfigMap as it is.
std::vector<std::string> secrets_written_in(const std::string& deployment_text);

// The hash of the files (FNV-1a, 64 bits, hex): what the `configVersion`
// annotation holds. Not a security measure.
std::string config_version(const std::vector<K8sFile>& files);

// `name` as a Kubernetes object name (DNS-1123 label): lower case, [a-z0-9-],
// starting and ending alphanumeric, at most `max` characters.
std::string k8s_name(const std::string& name, size_t max = 50);

}  // namespace streams::config
