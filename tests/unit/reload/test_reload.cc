// Reload on the data plane and its control-plane helpers: what a successor
// Chain keeps (instances, open batches), what a diff of two generations
// reports, and when the registry loads a plugin file again.
#define BOOST_TEST_MODULE reload
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "chain_fixture.h"
#include "pipeline/generation_diff.h"
#include "reload/reload_controller.h"
#include "sinks/plugin/plugin_sink.h"

using namespace streams;
using namespace streams::testing;

namespace {

const char* kDeployment = R"(pipeline:
  segments:
    - steps_config:
        in: {bootstrap_servers: ["x:1"]}
        out: {bootstrap_servers: ["x:1"]}
)";

// Generations built from pipeline texts by one registry, as the reload
// controller does, and one partition's Chain moving between them.
struct Reloads {
  TempDir dir;
  plugin::PluginRegistry registry{TEST_PLUGINS_DIR};
  FakeSink out;
  FakeErrors errors;
  metrics::PipelineMetrics metrics{"test"};
  std::unique_ptr<pipeline::Chain> chain;
  int64_t offset = 0;

  std::shared_ptr<const pipeline::Generation> build(const std::string& steps,
                                                    const std::string& deployment = kDeployment) {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig d;
    BOOST_REQUIRE(load_spec(dir.write("p.yaml", pipeline_yaml(steps)), &spec, diag));
    BOOST_REQUIRE(config::load_deployment_config(dir.write("d.yaml", deployment), &d, diag));
    auto g = pipeline::build_generation(std::move(spec), std::move(d), 0, registry, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    return g;
  }
  void start(const std::string& steps) {
    std::string error;
    chain = pipeline::Chain::create(build(steps), {&out}, errors, metrics, &error);
    BOOST_REQUIRE_MESSAGE(chain, error);
  }
  void reload(const std::string& steps) {
    std::string error;
    auto next = pipeline::Chain::create_successor(build(steps), *chain, &error);
    BOOST_REQUIRE_MESSAGE(next, error);
    BOOST_TEST((next->take_over(*chain) == pipeline::ChainResult::ok));
    chain = std::move(next);
  }
  void send(const std::string& value) {
    streams_record r{};
    r.struct_size = sizeof(r);
    r.value = view_bytes(value);
    const streams_origin origin{sizeof(streams_origin), "input", 0, offset};
    BOOST_TEST(
        (chain->process(r, origin, static_cast<uint64_t>(offset++)) == pipeline::ChainResult::ok));
  }
  std::vector<std::string> values() const {
    std::vector<std::string> v;
    for (const auto& w : out.written) v.push_back(w.value);
    return v;
  }
};

const char* kNumbered = "  - {kind: map, name: num, plugin: testkit, function: numbered}\n";

}  // namespace

BOOST_AUTO_TEST_CASE(an_unchanged_step_keeps_its_instance_across_a_reload) {
  Reloads r;
  r.start(kNumbered);
  r.send("a");
  r.send("b");
  r.reload(kNumbered);  // the same pipeline, built anew
  r.send("c");
  BOOST_TEST(r.values() == (std::vector<std::string>{"a#1", "b#2", "c#3"}));
}

BOOST_AUTO_TEST_CASE(a_step_whose_config_changed_gets_a_new_instance) {
  Reloads r;
  r.start(kNumbered);
  r.send("a");
  r.reload("  - {kind: map, name: num, plugin: testkit, function: numbered, config: {x: 1}}\n");
  r.send("b");
  BOOST_TEST(r.values() == (std::vector<std::string>{"a#1", "b#1"}));
}

BOOST_AUTO_TEST_CASE(an_open_batch_carries_over_when_only_a_plugin_config_changed) {
  Reloads r;
  const std::string batch = "  - {kind: batch, name: b, max_count: 3, format: json}\n";
  r.start("  - {kind: map, name: up, plugin: testkit, function: upper}\n" + batch);
  r.send("1");
  r.send("2");
  r.reload("  - {kind: map, name: up, plugin: testkit, function: upper, config: {x: 1}}\n" + batch);
  BOOST_TEST(r.values().empty());
  r.send("3");
  BOOST_TEST(r.values() == (std::vector<std::string>{"[1,2,3]"}));
}

BOOST_AUTO_TEST_CASE(a_changed_graph_emits_the_open_batch_at_the_swap) {
  Reloads r;
  r.start("  - {kind: batch, name: b, max_count: 3, format: json}\n");
  r.send("1");
  r.send("2");
  r.reload("  - {kind: batch, name: b, max_count: 2, format: json}\n");
  BOOST_TEST(r.values() == (std::vector<std::string>{"[1,2]"}));  // by the old settings
  r.send("3");
  r.send("4");
  BOOST_TEST(r.values() == (std::vector<std::string>{"[1,2]", "[3,4]"}));
}

BOOST_AUTO_TEST_CASE(the_diff_names_changed_steps_and_what_needs_a_restart) {
  Reloads r;
  auto a = r.build(kNumbered);
  auto same = r.build(kNumbered);
  BOOST_TEST(pipeline::diff_generations(*a, *same).changes.empty());
  BOOST_TEST(pipeline::diff_generations(*a, *same).needs_restart.empty());
  BOOST_TEST(a->steps[0].library == same->steps[0].library);  // loaded once

  auto config =
      r.build("  - {kind: map, name: num, plugin: testkit, function: numbered, config: {x: 1}}\n");
  auto d = pipeline::diff_generations(*a, *config);
  BOOST_REQUIRE(d.changes.size() == 1u);
  BOOST_TEST(d.changes[0] == "step 'num': config {\"x\":1}");

  auto graph = r.build(std::string(kNumbered) +
                       "  - {kind: map, name: up, plugin: testkit, function: upper}\n");
  BOOST_TEST(pipeline::diff_generations(*a, *graph).changes.size() == 1u);
  BOOST_TEST(!pipeline::same_shape(*a, *graph));

  std::string moved_sink = kDeployment;
  moved_sink.replace(moved_sink.find("out: {"), 6, "out: {topic: elsewhere, ");
  auto sink = r.build(kNumbered, moved_sink);
  BOOST_TEST(pipeline::diff_generations(*a, *sink).needs_restart == "sink 'out' changed");
}

// A sink plugin's bounds are set when the runtime makes its sinks: a reload
// that changes them restarts it, where it used to find nothing changed.
BOOST_AUTO_TEST_CASE(a_sink_plugins_new_bounds_need_a_restart) {
  Reloads r;
  auto with = [&](const std::string& bounds) {
    config::Diagnostics diag;
    config::PipelineSpec spec;
    config::DeploymentConfig d;
    const std::string pipeline =
        "source: {name: in, stream_name: input}\nsteps:\n"
        "  - {kind: sink, name: rows, plugin: testkit}\n";
    const std::string deployment =
        "pipeline:\n  segments:\n    - steps_config:\n"
        "        in: {bootstrap_servers: [\"x:1\"]}\n"
        "        rows: {" +
        bounds + "}\n";
    BOOST_REQUIRE(load_spec(r.dir.write("p.yaml", pipeline), &spec, diag));
    BOOST_REQUIRE(config::load_deployment_config(r.dir.write("d.yaml", deployment), &d, diag));
    auto g = pipeline::build_generation(std::move(spec), std::move(d), 0, r.registry, diag);
    BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
    return g;
  };
  auto a = with("");
  BOOST_TEST(pipeline::diff_generations(*a, *with("")).needs_restart.empty());
  // Writing out the bounds it runs with (a plugin sink's own default, the
  // deployment's byte bound) changes nothing.
  const std::string same =
      "max_in_flight_messages: " + std::to_string(sinks::PluginSink::kDefaultMaxInFlight) +
      ", max_in_flight_bytes: " + std::to_string(config::StepDeployment{}.max_in_flight_bytes);
  BOOST_TEST(pipeline::diff_generations(*a, *with(same)).needs_restart.empty());
  BOOST_TEST(pipeline::diff_generations(*with(same), *a).needs_restart.empty());
  for (const char* changed : {"max_in_flight_messages: 1000", "max_in_flight_bytes: 1048576",
                              "max_in_flight_messages: 100000"}) {
    const auto d = pipeline::diff_generations(*a, *with(changed));
    BOOST_TEST(d.needs_restart ==
                   "the in-flight bounds of sink 'rows' changed (max_in_flight_messages, "
                   "max_in_flight_bytes)",
               changed);
  }
}

BOOST_AUTO_TEST_CASE(the_registry_loads_a_rewritten_plugin_file_again) {
  TempDir dir;
  namespace fs = std::filesystem;
  const std::string so = dir.path() + "/testkit.so";
  fs::copy_file(std::string(TEST_PLUGINS_DIR) + "/testkit.so", so);
  plugin::PluginRegistry registry(dir.path());
  std::string error;
  auto first = registry.get("testkit", &error);
  BOOST_REQUIRE_MESSAGE(first, error);
  BOOST_TEST(registry.get("testkit", &error) == first);
  // The same bytes copied over again (a new modification time): the same
  // plugin, so a reload finds nothing changed.
  fs::copy_file(std::string(TEST_PLUGINS_DIR) + "/testkit.so", so,
                fs::copy_options::overwrite_existing);
  fs::last_write_time(so, fs::last_write_time(so) + std::chrono::seconds(1));
  BOOST_TEST(registry.get("testkit", &error) == first);
  // Rewritten in place with other bytes (a stripped build of it).
  fs::copy_file(std::string(TEST_PLUGINS_DIR) + "/stripped/testkit.so", so,
                fs::copy_options::overwrite_existing);
  fs::last_write_time(so, fs::last_write_time(so) + std::chrono::seconds(2));
  auto second = registry.get("testkit", &error);
  BOOST_REQUIRE_MESSAGE(second, error);
  BOOST_TEST(second != first);
  // The registry does not keep a library alive: unused, it is unloaded.
  std::weak_ptr<plugin::PluginLibrary> unused = first;
  first.reset();
  BOOST_TEST(unused.expired());
}

namespace {

// Records what the controller hands over; answers with `answer`.
struct FakeSwapper : pipeline::GenerationSwapper {
  std::future<pipeline::SwapOutcome> swap(std::shared_ptr<const pipeline::Generation> g) override {
    swapped.push_back(g);
    return reply();
  }
  std::future<pipeline::SwapOutcome> restart(
      std::shared_ptr<const pipeline::Generation> g) override {
    restarted.push_back(g);
    return reply();
  }
  std::future<pipeline::SwapOutcome> reply() {
    pending = std::promise<pipeline::SwapOutcome>();
    if (!hang) pending.set_value(answer);
    return pending.get_future();
  }
  bool cancel(const std::string& why) override {
    cancelled.push_back(why);
    pipeline::SwapOutcome refused;
    refused.error = why;
    pending.set_value(refused);
    return true;
  }
  pipeline::SwapOutcome answer{true, "", {{0, 42}}, 1700000000000, 5};
  bool hang = false;  // the processing thread never takes the swap
  std::promise<pipeline::SwapOutcome> pending;
  std::vector<std::string> cancelled;
  std::vector<std::shared_ptr<const pipeline::Generation>> swapped, restarted;
};

// A controller whose loader reads `steps` and `deployment` as they are when
// it runs.
struct Controller {
  Reloads files;
  std::string steps = kNumbered;
  std::string deployment = kDeployment;
  FakeSwapper swapper;
  std::unique_ptr<reload::ReloadController> controller;

  // `timeout`: the reload's bound; long by default, so a loaded machine
  // (ThreadSanitizer, tests in parallel) does not refuse a reload here.
  explicit Controller(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto registry = std::make_unique<plugin::PluginRegistry>(TEST_PLUGINS_DIR);
    config::Diagnostics diag;
    auto first = load(*registry, diag);
    BOOST_REQUIRE_MESSAGE(first, all_errors(diag));
    controller = std::make_unique<reload::ReloadController>(
        first, std::move(registry),
        [this](plugin::PluginRegistry& r, config::Diagnostics& d) { return load(r, d); }, swapper,
        nullptr, timeout);
  }
  std::shared_ptr<const pipeline::Generation> load(plugin::PluginRegistry& r,
                                                   config::Diagnostics& diag) {
    config::PipelineSpec spec;
    config::DeploymentConfig d;
    if (!load_spec(files.dir.write("p.yaml", pipeline_yaml(steps)), &spec, diag) ||
        !config::load_deployment_config(files.dir.write("d.yaml", deployment), &d, diag)) {
      return nullptr;
    }
    return pipeline::build_generation(std::move(spec), std::move(d), 0, r, diag);
  }
};

using Outcome = reload::ReloadResult::Outcome;

}  // namespace

BOOST_AUTO_TEST_CASE(a_reload_with_nothing_changed_hands_nothing_over) {
  Controller c;
  const auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::unchanged));
  BOOST_TEST(r.generation == 1u);
  BOOST_TEST(c.swapper.swapped.empty());
}

// metrics and sentry_sdk_config are read at start-up: a reload says so
// rather than seeming to apply them, and says it until they are back.
BOOST_AUTO_TEST_CASE(settings_read_at_start_up_are_named_as_taking_effect_at_the_next_start) {
  Controller c;
  const std::string started = c.deployment;
  c.deployment =
      "metrics: {type: log, period_sec: 5}\n"
      "sentry_sdk_config: {dsn: \"https://k@sentry.example/1\"}\n" +
      started;
  auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::unchanged));
  BOOST_TEST(r.at_next_start == (std::vector<std::string>{"metrics", "sentry_sdk_config"}),
             boost::test_tools::per_element());
  BOOST_TEST(reload::to_json(r).find("\"at_next_start\":[\"metrics\",\"sentry_sdk_config\"]") !=
             std::string::npos);
  c.deployment = started;
  r = c.controller->reload("test");
  BOOST_TEST(r.at_next_start.empty());
}

BOOST_AUTO_TEST_CASE(a_changed_config_is_swapped_in_as_the_next_generation) {
  Controller c;
  c.steps = "  - {kind: map, name: num, plugin: testkit, function: numbered, config: {x: 2}}\n";
  const auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::applied));
  BOOST_TEST(r.generation == 2u);
  BOOST_REQUIRE(c.swapper.swapped.size() == 1u);
  BOOST_TEST(c.swapper.swapped[0]->steps[0].config_json == "{\"x\":2}");
  const std::string status = c.controller->status_json();
  BOOST_TEST(status.find("\"generation\":2") != std::string::npos);
  BOOST_TEST(status.find("\"applied\":1") != std::string::npos);
  BOOST_TEST(status.find("\"offset\":42") != std::string::npos);  // the switch point
}

// A status read while reloads go on shows a generation with its own
// reload's result (switch points included), never the one before's: a
// client waiting for generation N reads N's switch points.
BOOST_AUTO_TEST_CASE(the_status_shows_a_generation_with_its_own_reload) {
  Controller c;
  std::atomic<bool> done{false};
  std::string mismatch;
  std::thread reader([&] {
    while (!done.load() && mismatch.empty()) {
      const auto status = nlohmann::json::parse(c.controller->status_json());
      const auto& last = status["last_reload"];
      if (!last.is_null() && last["generation"] != status["generation"]) mismatch = status.dump();
    }
  });
  for (int k = 1; k <= 100; ++k) {
    c.steps = "  - {kind: map, name: num, plugin: testkit, function: numbered, config: {x: " +
              std::to_string(k) + "}}\n";
    c.swapper.answer.switch_points = {{0, k}};
    BOOST_REQUIRE((c.controller->reload("test").outcome == Outcome::applied));
  }
  done = true;
  reader.join();
  BOOST_TEST(mismatch.empty(), mismatch);
  const auto status = nlohmann::json::parse(c.controller->status_json());
  BOOST_TEST(status["generation"] == 101);
  BOOST_TEST(status["last_reload"]["switch_points"][0]["offset"] == 100);
}

BOOST_AUTO_TEST_CASE(a_refusal_by_the_files_or_the_runtime_keeps_the_generation) {
  Controller c;
  c.steps = "  - {kind: map, name: num, plugin: testkit, function: nonesuch}\n";
  auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::refused));
  BOOST_TEST(r.error.find("no function 'nonesuch'") != std::string::npos);
  BOOST_TEST(c.swapper.swapped.empty());

  c.steps = "  - {kind: map, name: num, plugin: testkit, function: upper}\n";
  c.swapper.answer = {false, "partition 3: it failed", {}, 0, 0};
  r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::refused));
  BOOST_TEST(r.error == "partition 3: it failed");
  BOOST_TEST(r.generation == 1u);
  BOOST_TEST(c.controller->status_json().find("\"refused\":2") != std::string::npos);
}

// The control plane's parts made from a generation hear of each applied
// reload, with the generations before and after; of no other.
BOOST_AUTO_TEST_CASE(an_applied_reload_is_announced_with_both_generations) {
  Controller c;
  std::vector<std::pair<std::string, std::string>> heard;  // function before, after
  c.controller->on_applied(
      [&](const pipeline::Generation& before, const pipeline::Generation& after) {
        heard.emplace_back(before.steps[0].spec->function, after.steps[0].spec->function);
      });
  BOOST_TEST((c.controller->reload("test").outcome == Outcome::unchanged));
  c.steps = "  - {kind: map, name: num, plugin: testkit, function: nonesuch}\n";
  BOOST_TEST((c.controller->reload("test").outcome == Outcome::refused));
  c.steps = "  - {kind: map, name: num, plugin: testkit, function: upper}\n";
  BOOST_TEST((c.controller->reload("test").outcome == Outcome::applied));
  BOOST_REQUIRE(heard.size() == 1u);
  BOOST_TEST(heard[0].first == "numbered");
  BOOST_TEST(heard[0].second == "upper");
}

BOOST_AUTO_TEST_CASE(a_changed_sink_restarts_the_consumer) {
  Controller c;
  c.deployment.replace(c.deployment.find("out: {"), 6, "out: {topic: elsewhere, ");
  const auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::applied));
  BOOST_TEST(r.restarted == "sink 'out' changed");
  BOOST_TEST(c.swapper.swapped.empty());
  BOOST_TEST(c.swapper.restarted.size() == 1u);
}

// A processing thread that never takes the swap (stuck in a plugin): the
// reload is refused at its bound, the swap given up, the generation kept.
BOOST_AUTO_TEST_CASE(a_swap_not_taken_within_the_bound_is_refused_and_cancelled) {
  Controller c(std::chrono::milliseconds(200));
  c.swapper.hang = true;
  c.steps = "  - {kind: map, name: num, plugin: testkit, function: upper}\n";
  const auto r = c.controller->reload("test");
  BOOST_TEST((r.outcome == Outcome::refused));
  BOOST_TEST(r.error == "the processing thread did not switch within 200 ms", r.error);
  BOOST_REQUIRE(c.swapper.cancelled.size() == 1u);
  BOOST_TEST(r.generation == 1u);
  BOOST_TEST(c.controller->activity().empty());
}
