#include "config/topology_graph.h"

#include <algorithm>
#include <map>
#include <vector>

namespace streams::config {
namespace {

struct Node {
  std::string id;            // "n0", "n1", ... in file order
  std::string name, detail;  // shown on two lines
  size_t segment;
};

struct Edge {
  std::string from, to, label;  // label: the branch name, if any
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  size_t segments = 1;
  std::vector<int> threads;  // by segment: its first step's parallelism
};

// "segment N", with its processing threads when more than one.
std::string segment_label(const Graph& g, size_t s) {
  const int n = s < g.threads.size() ? g.threads[s] : 1;
  return "segment " + std::to_string(s) + (n > 1 ? ", " + std::to_string(n) + " threads" : "");
}

// The parallelism of each segment's first step: the source's in segment 0,
// the one marked starts_segment in the others.
std::vector<int> segment_threads(const PipelineSpec& p, const DeploymentConfig* d) {
  std::vector<int> out;
  for (size_t i = 0; d && i < d->segments.size(); ++i) {
    int n = 1;
    for (const auto& [name, step] : d->segments[i].steps_config) {
      if (i == 0 ? name == p.source.name : step.starts_segment) n = std::max(n, step.parallelism);
    }
    out.push_back(n);
  }
  return out;
}

// The segment each step (by name) starts, from steps_config starts_segment.
std::map<std::string, size_t> segment_starts(const DeploymentConfig* d) {
  std::map<std::string, size_t> starts;
  for (size_t i = 0; d && i < d->segments.size(); ++i) {
    for (const auto& [name, step] : d->segments[i].steps_config) {
      if (step.starts_segment) starts[name] = i;
    }
  }
  return starts;
}

std::string detail(const StepSpec& step) {
  std::string detail = step.kind();
  if (step.type->uses_function()) {
    detail +=
        step.python.empty() ? " " + step.plugin + "." + step.function : " python " + step.python;
  }
  detail += step.type->describe(step);
  if (step.state) {
    detail += " [state";
    if (step.state->ttl_ms > 0) detail += ", ttl " + std::to_string(step.state->ttl_ms) + " ms";
    detail += "]";
  }
  return detail;
}

void add_list(Graph& g, const std::vector<StepSpec>& steps, std::string from,
              std::string edge_label, size_t segment, const std::map<std::string, size_t>& starts) {
  for (const StepSpec& step : steps) {
    auto it = starts.find(step.name);
    if (it != starts.end()) segment = it->second;
    const std::string id = "n" + std::to_string(g.nodes.size());
    g.nodes.push_back({id, step.name, detail(step), segment});
    g.segments = std::max(g.segments, segment + 1);
    g.edges.push_back({from, id, edge_label});
    edge_label.clear();
    for (const BranchSpec& branch : step.branches) {
      add_list(g, branch.steps, id, branch.name, segment, starts);
    }
    from = id;
  }
}

void segments_of(const std::vector<StepSpec>& steps, size_t segment,
                 const std::map<std::string, size_t>& starts, std::map<std::string, size_t>* out) {
  for (const StepSpec& step : steps) {
    auto it = starts.find(step.name);
    if (it != starts.end()) segment = it->second;
    (*out)[step.name] = segment;
    for (const BranchSpec& branch : step.branches) segments_of(branch.steps, segment, starts, out);
  }
}

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out + "\"";
}

std::string mermaid(const Graph& g) {
  std::string out = "flowchart TD\n";
  for (size_t s = 0; s < g.segments; ++s) {
    out += "  subgraph segment" + std::to_string(s) + "[\"" + segment_label(g, s) + "\"]\n";
    for (const Node& n : g.nodes) {
      if (n.segment == s) out += "    " + n.id + "[" + quote(n.name + "<br/>" + n.detail) + "]\n";
    }
    out += "  end\n";
  }
  for (const Edge& e : g.edges) {
    out += "  " + e.from + (e.label.empty() ? " --> " : " -- " + quote(e.label) + " --> ") + e.to +
           "\n";
  }
  return out;
}

std::string dot(const Graph& g) {
  std::string out = "digraph pipeline {\n  rankdir=TB;\n  node [shape=box];\n";
  for (size_t s = 0; s < g.segments; ++s) {
    out += "  subgraph cluster_segment" + std::to_string(s) + " {\n    label=\"" +
           segment_label(g, s) + "\";\n";
    for (const Node& n : g.nodes) {
      if (n.segment == s)
        out += "    " + n.id + " [label=" + quote(n.name + "\\n" + n.detail) + "];\n";
    }
    out += "  }\n";
  }
  for (const Edge& e : g.edges) {
    out += "  " + e.from + " -> " + e.to;
    if (!e.label.empty()) out += " [label=" + quote(e.label) + "]";
    out += ";\n";
  }
  return out + "}\n";
}

}  // namespace

std::string render_graph(const PipelineSpec& pipeline, const DeploymentConfig* deployment,
                         GraphFormat format) {
  Graph g;
  g.threads = segment_threads(pipeline, deployment);
  g.nodes.push_back({"source", pipeline.source.name, "source " + pipeline.source.stream_name, 0});
  add_list(g, pipeline.steps, "source", "", 0, segment_starts(deployment));
  return format == GraphFormat::mermaid ? mermaid(g) : dot(g);
}

std::map<std::string, size_t> step_segments(const PipelineSpec& pipeline,
                                            const DeploymentConfig* deployment) {
  std::map<std::string, size_t> out;
  segments_of(pipeline.steps, 0, segment_starts(deployment), &out);
  return out;
}

}  // namespace streams::config
