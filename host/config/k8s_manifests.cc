#include "config/k8s_manifests.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "common/fnv.h"
#include "config/connection_settings.h"
#include "config/topology_graph.h"

namespace streams::config {
namespace {

using nlohmann::json;

// Where the image (packaging/Dockerfile) keeps things.
constexpr const char* kConfigDir = "/etc/streams";
constexpr const char* kTokenDir = "/etc/streams-token";
constexpr const char* kHome = "/var/lib/streams";
constexpr const char* kPluginsDir = "/var/lib/streams/plugins";
constexpr int kUid = 10001;  // the image's user and group `streams`

// ---- YAML text ---------------------------------------------------------------
// Objects are built as JSON and written as block YAML: every string
// double-quoted (a JSON string is a YAML one), so that "0" or "true" stay
// strings; a multi-line text as a literal block when it reads back the same.

bool literal_block(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n' || s[0] == ' ') return false;
  size_t line = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      // A line of spaces only would read back empty.
      if (i > line && s.find_first_not_of(' ', line) >= i) return false;
      line = i + 1;
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return true;
}

std::string scalar(const json& v) {
  return v.is_string() ? v.dump(-1, ' ', false, json::error_handler_t::replace) : v.dump();
}

bool block(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void write_yaml(const json& v, size_t indent, std::string& out);

void write_value(const json& v, size_t indent, std::string& out) {
  if (block(v)) {
    out += "\n";
    write_yaml(v, indent, out);
  } else if (v.is_string() && literal_block(v.get<std::string>())) {
    out += " |\n";
    const std::string& s = v.get_ref<const std::string&>();
    for (size_t from = 0; from < s.size();) {
      const size_t end = s.find('\n', from);
      if (end > from) out += std::string(indent, ' ') + s.substr(from, end - from);
      out += "\n";
      from = end + 1;
    }
  } else {
    out += " " + scalar(v) + "\n";
  }
}

void write_yaml(const json& v, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      out += pad + key + ":";
      write_value(value, indent + 2, out);
    }
    return;
  }
  for (const json& item : v) {
    if (item.is_object() && !item.empty()) {
      std::string inner;
      write_yaml(item, indent + 2, inner);
      out += pad + "- " + inner.substr(indent + 2);  // the first key on the dash's line
    } else {
      out += pad + "-";
      write_value(item, indent + 2, out);
    }
  }
}

// ---- the objects ----------------------------------------------------------------

struct Names {
  std::string base;  // streams-<pipeline>
  std::string segment(size_t n) const { return base + "-s" + std::to_string(n); }
};

json labels(const PipelineSpec& p, size_t segment) {
  return {{"app.kubernetes.io/name", "streams-host"},
          {"app.kubernetes.io/instance", k8s_name(p.name, 63)},
          {"app.kubernetes.io/component", "segment-" + std::to_string(segment)}};
}

json metadata(const std::string& name, const K8sOptions& o, json labels) {
  json m = {{"name", name}, {"labels", std::move(labels)}};
  if (!o.ns.empty()) m["namespace"] = o.ns;
  return m;
}

// The ${envvar:NAME}s of the deployment config's text.
std::set<std::string> envvars(const std::string& text) {
  static const std::regex ref(R"(\$\{envvar:([A-Za-z_][A-Za-z0-9_]*)\})");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), ref); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

// What a segment runs with: its steps' longest drain, its first step's
// parallelism (processing threads).
struct SegmentFacts {
  int drain_ms = 10000;
  int threads = 1;
  bool stateful = false;
};

SegmentFacts facts(const PipelineSpec& p, const DeploymentConfig& d, size_t segment,
                   const std::map<std::string, size_t>& segments) {
  SegmentFacts f;
  for (const auto& [name, step] : d.segments[segment].steps_config) {
    f.drain_ms = std::max(f.drain_ms, step.drain_timeout_ms);
    if (step.starts_segment || name == p.source.name)
      f.threads = std::max(f.threads, step.parallelism);
  }
  for (const StepSpec* step : p.all_steps()) {
    auto it = segments.find(step->name);
    if (step->state && it != segments.end() && it->second == segment) f.stateful = true;
  }
  return f;
}

json container(const std::vector<K8sFile>& files, const K8sOptions& o, size_t segment,
               const SegmentFacts& f) {
  const std::string config_dir = kConfigDir;
  json env = json::array();
  for (const auto& [name, value] : o.env) env.push_back({{"name", name}, {"value", value}});
  for (const auto& e : o.secret_env) {
    env.push_back({{"name", e.name},
                   {"valueFrom", {{"secretKeyRef", {{"name", e.secret}, {"key", e.key}}}}}});
  }
  const json probe_port = o.admin_port;
  auto probe = [&](const char* path, int period, int failures) {
    return json{{"httpGet", {{"path", path}, {"port", probe_port}}},
                {"periodSeconds", period},
                {"failureThreshold", failures}};
  };
  json c = {
      {"name", "streams-host"},
      {"image", o.image},
      // After the image's entrypoint (`streams-host run --state-dir
      // /var/lib/streams --plugins-dir /var/lib/streams/plugins`).
      {"args",
       {"--config", config_dir + "/" + files[1].name, "--segment-id", std::to_string(segment),
        "--admin-port", std::to_string(o.admin_port), "--admin-address", "0.0.0.0",
        "--admin-token-file", std::string(kTokenDir) + "/token", "--no-watch"}},
      {"ports", {{{"name", "admin"}, {"containerPort", o.admin_port}}}},
      {"livenessProbe", probe("/livez", 10, 3)},
      {"readinessProbe", probe("/readyz", 5, 3)},
      {"resources",
       {{"requests",
         {{"cpu", std::to_string(f.threads)}, {"memory", std::to_string(512 * f.threads) + "Mi"}}},
        {"limits", {{"memory", std::to_string(1024 * f.threads) + "Mi"}}}}},
      {"volumeMounts",
       {{{"name", "config"}, {"mountPath", config_dir}, {"readOnly", true}},
        {{"name", "admin-token"}, {"mountPath", kTokenDir}, {"readOnly", true}},
        {{"name", f.stateful ? "state" : "home"}, {"mountPath", kHome}},
        {{"name", "plugins"}, {"mountPath", kPluginsDir}, {"readOnly", true}}}},
  };
  if (!o.metrics_need_token) c["args"].push_back("--metrics-without-token");
  c["args"].push_back(config_dir + "/" + files[0].name);
  if (!env.empty()) c["env"] = std::move(env);
  return c;
}

json pod_template(const PipelineSpec& p, const std::vector<K8sFile>& files, const K8sOptions& o,
                  const Names& names, size_t segment, const SegmentFacts& f) {
  json config = {{"name", names.base + "-config"}};
  if (std::any_of(files.begin(), files.end(), [](const K8sFile& f) { return !f.path.empty(); })) {
    json items = json::array();  // once given, only the keys listed are there
    for (const K8sFile& f : files) {
      items.push_back({{"key", f.name}, {"path", f.path.empty() ? f.name : f.path}});
    }
    config["items"] = std::move(items);
  }
  json volumes = {
      {{"name", "config"}, {"configMap", std::move(config)}},
      {{"name", "admin-token"},
       {"secret",
        {{"secretName", o.token_secret.empty() ? names.base + "-admin-token" : o.token_secret}}}},
      {{"name", "plugins"},
       {"persistentVolumeClaim",
        {{"claimName", o.plugins_claim.empty() ? names.base + "-plugins" : o.plugins_claim},
         {"readOnly", true}}}},
  };
  if (!f.stateful) volumes.push_back({{"name", "home"}, {"emptyDir", json::object()}});
  json annotations = {{"configVersion", config_version(files)}};
  if (!o.metrics_need_token) {
    annotations["prometheus.io/scrape"] = "true";
    annotations["prometheus.io/port"] = std::to_string(o.admin_port);
    annotations["prometheus.io/path"] = "/metrics";
  }
  return {
      {"metadata", {{"labels", labels(p, segment)}, {"annotations", std::move(annotations)}}},
      {"spec",
       {{"terminationGracePeriodSeconds", f.drain_ms / 1000 + 30},
        {"securityContext",
         {{"runAsNonRoot", true}, {"runAsUser", kUid}, {"runAsGroup", kUid}, {"fsGroup", kUid}}},
        {"containers", {container(files, o, segment, f)}},
        {"volumes", std::move(volumes)}}},
  };
}

json workload(const PipelineSpec& p, const std::vector<K8sFile>& files, const K8sOptions& o,
              const Names& names, size_t segment, const SegmentFacts& f) {
  const std::string name = names.segment(segment);
  json meta = metadata(name, o, labels(p, segment));
  meta["annotations"] = {{"configVersion", config_version(files)}};
  json spec = {{"replicas", o.replicas},
               {"selector", {{"matchLabels", labels(p, segment)}}},
               {"template", pod_template(p, files, o, names, segment, f)}};
  if (!f.stateful) {
    return {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", meta}, {"spec", spec}};
  }
  spec["serviceName"] = name;
  spec["podManagementPolicy"] = "Parallel";
  spec["volumeClaimTemplates"] = {{{"metadata", {{"name", "state"}}},
                                   {"spec",
                                    {{"accessModes", {"ReadWriteOnce"}},
                                     {"resources", {{"requests", {{"storage", o.state_size}}}}}}}}};
  return {{"apiVersion", "apps/v1"}, {"kind", "StatefulSet"}, {"metadata", meta}, {"spec", spec}};
}

json disruption_budget(const PipelineSpec& p, const K8sOptions& o, const Names& names,
                       size_t segment) {
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", metadata(names.segment(segment), o, labels(p, segment))},
          {"spec", {{"maxUnavailable", 1}, {"selector", {{"matchLabels", labels(p, segment)}}}}}};
}

json service(const PipelineSpec& p, const K8sOptions& o, const Names& names, size_t segment) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", metadata(names.segment(segment), o, labels(p, segment))},
          {"spec",
           {{"selector", labels(p, segment)},
            {"ports", {{{"name", "admin"}, {"port", o.admin_port}, {"targetPort", "admin"}}}}}}};
}

json config_map(const PipelineSpec& p, const std::vector<K8sFile>& files, const K8sOptions& o,
                const Names& names) {
  json data = json::object();
  for (const K8sFile& f : files) data[f.name] = f.text;
  json meta = metadata(names.base + "-config", o,
                       {{"app.kubernetes.io/name", "streams-host"},
                        {"app.kubernetes.io/instance", k8s_name(p.name, 63)}});
  meta["annotations"] = {{"configVersion", config_version(files)}};
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta}, {"data", data}};
}

}  // namespace

std::string k8s_name(const std::string& name, size_t max) {
  std::string out;
  for (char c : name) {
    const char l = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok) {
      out += l;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > max) out.resize(max);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "pipeline" : out;
}

std::string config_version(const std::vector<K8sFile>& files) {
  Fnv1a h;
  for (const K8sFile& f : files) {
    h.add_part(f.name);
    if (!f.path.empty()) h.add_part(f.path);
    h.add_part(f.text);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.value()));
  return hex;
}

std::string render_k8s(const PipelineSpec& pipeline, const DeploymentConfig& deployment,
                       const std::vector<K8sFile>& files, const K8sOptions& options,
                       std::string* error) {
  if (options.image.empty()) {
    *error = "--image is required: the container image to run (packaging/Dockerfile builds one)";
    return "";
  }
  if (files.size() < 2) {
    *error = "render_k8s needs the pipeline file and the deployment config";
    return "";
  }
  std::set<std::string> given;
  for (const auto& [name, value] : options.env) given.insert(name);
  for (const auto& e : options.secret_env) given.insert(e.name);
  for (const std::string& name : envvars(files[1].text)) {
    if (!given.count(name)) {
      *error = deployment.path + " uses ${envvar:" + name +
               "}: give the pods its value with --env " + name +
               "=VALUE, or from a Secret with --env-secret " + name + "=SECRET:KEY";
      return "";
    }
  }
  const Names names{"streams-" + k8s_name(pipeline.name)};
  const auto segments = step_segments(pipeline, &deployment);
  std::vector<json> objects{config_map(pipeline, files, options, names)};
  for (size_t s = 0; s < deployment.segments.size(); ++s) {
    const SegmentFacts f = facts(pipeline, deployment, s, segments);
    objects.push_back(workload(pipeline, files, options, names, s, f));
    objects.push_back(disruption_budget(pipeline, options, names, s));
    objects.push_back(service(pipeline, options, names, s));
  }
  std::string out;
  for (const json& o : objects) {
    out += "---\n";
    write_yaml(o, 0, out);
  }
  return out;
}

namespace {

void find_written_secrets(const YAML::Node& node, const std::string& at,
                          std::vector<std::string>* out) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      find_written_secrets(node[i], at + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  if (!node.IsMap()) return;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string path = at.empty() ? key : at + "." + key;
    if (kv.second.IsScalar()) {
      const std::string& value = kv.second.Scalar();
      const bool literal = value.find("${envvar:") == std::string::npos;
      if (literal && !value.empty() &&
          (is_secret_setting(key) || value.find("password=") != std::string::npos)) {
        out->push_back(path);
      }
    } else {
      find_written_secrets(kv.second, path, out);
    }
  }
}

}  // namespace

std::vector<std::string> secrets_written_in(const std::string& deployment_text) {
  std::vector<std::string> out;
  try {
    find_written_secrets(YAML::Load(deployment_text), "", &out);
  } catch (const YAML::Exception&) {
    // Loading the config reported it.
  }
  return out;
}

}  // namespace streams::config
