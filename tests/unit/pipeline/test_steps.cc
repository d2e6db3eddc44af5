// Every step kind through the SDK's whole-pipeline test driver.
#define BOOST_TEST_MODULE steps
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <streams/pipeline_driver.hpp>

#include "test_util.h"

using streams::test_driver::Input;
using streams::test_driver::PipelineDriver;
using streams::testing::TempDir;
using Strings = std::vector<std::string>;

namespace {

// A driver over "source in -> STEPS" with the test plugins.
struct Steps {
  TempDir dir;
  PipelineDriver driver;
  explicit Steps(const std::string& steps_yaml, const std::string& extra_file = "",
                 const std::string& extra_text = "")
      : driver(write(dir, steps_yaml, extra_file, extra_text), TEST_PLUGINS_DIR) {}

  static std::string write(const TempDir& dir, const std::string& steps, const std::string& file,
                           const std::string& text) {
    if (!file.empty()) dir.write(file, text);
    return dir.write("pipeline.yaml", "source: {name: in, stream_name: in}\nsteps:\n" + steps);
  }
  void send(const std::string& value, int64_t timestamp_ms = -1) {
    Input in = streams::test_driver::value(value);
    in.timestamp_ms = timestamp_ms;
    BOOST_REQUIRE(driver.send(in));
  }
  Strings values(const std::string& sink = "out") const { return driver.values(sink); }
  std::string errors() const {
    std::string out;
    for (const auto& e : driver.errors()) {
      out += e.step + "@" + std::to_string(e.offset) + ": " + e.message + "\n";
    }
    return out;
  }
};

const char* kOut = "  - {kind: sink, name: out, stream_name: out}\n";

// A reduce step `r` with testkit's aggregate `function` and `keys` (window
// and more, indented as step keys), then the sink.
std::string reduce_step(const char* function, const std::string& keys) {
  return std::string("  - kind: reduce\n    name: r\n    plugin: testkit\n    function: ") +
         function + "\n" + keys + kOut;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string msgpack_of(const char* json_text) {
  std::string out;
  nlohmann::json::to_msgpack(nlohmann::json::parse(json_text),
                             nlohmann::detail::output_adapter<char>(out));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stateless)

BOOST_AUTO_TEST_CASE(map_filter_flat_map_header_filter) {
  Steps s(std::string("  - {kind: flat_map, name: f, plugin: testkit, function: split}\n") +
          "  - {kind: filter, name: a, plugin: testkit, function: starts_with_a}\n"
          "  - {kind: map, name: u, plugin: testkit, function: upper}\n" +
          kOut);
  s.send("apple,kiwi,avocado");
  s.send("");
  BOOST_TEST(s.values() == (Strings{"APPLE", "AVOCADO"}), boost::test_tools::per_element());

  Steps h(std::string("  - {kind: header_filter, name: h, header: type, value: keep}\n") + kOut);
  Input in = streams::test_driver::value("x");
  in.headers = {{"type", "keep"}};
  BOOST_REQUIRE(h.driver.send(in));
  in.headers = {{"type", "other"}};
  BOOST_REQUIRE(h.driver.send(in));
  in.headers = {{"type", "\xff"}};
  BOOST_REQUIRE(h.driver.send(in));
  BOOST_TEST(h.values() == (Strings{"x"}), boost::test_tools::per_element());
  BOOST_TEST(contains(h.errors(), "h@2: header 'type' is not valid UTF-8"), h.errors());
}

BOOST_AUTO_TEST_CASE(route_and_broadcast) {
  Steps s(
      "  - kind: route\n    name: r\n    plugin: testkit\n    function: by_prefix\n"
      "    branches:\n"
      "      one: [{kind: sink, name: one, stream_name: one}]\n"
      "      both:\n"
      "        - kind: broadcast\n          name: b\n          branches:\n"
      "            x: [{kind: sink, name: x, stream_name: x}]\n"
      "            y: [{kind: sink, name: y, stream_name: y}]\n");
  s.send("one:1");
  s.send("both:2");
  s.send("three:3");
  BOOST_TEST(s.values("one") == (Strings{"one:1"}), boost::test_tools::per_element());
  BOOST_TEST(s.values("x") == (Strings{"both:2"}), boost::test_tools::per_element());
  BOOST_TEST(s.values("y") == (Strings{"both:2"}), boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "r@2: route chose branch 'three'"), s.errors());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codecs)

BOOST_AUTO_TEST_CASE(json_parser_passes_json_and_reports_the_reason_for_the_rest) {
  Steps s(std::string("  - {kind: parser, name: p, format: json}\n") + kOut);
  s.send(R"({"a": 1})");
  s.send("{nope");
  BOOST_TEST(s.values() == (Strings{R"({"a": 1})"}), boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(s.driver.errors().size(), 1u);
  BOOST_TEST(s.driver.errors()[0].kind == STREAMS_ERR_INVALID_INPUT);
  BOOST_TEST(contains(s.errors(), "p@1: not valid JSON: "), s.errors());
}

BOOST_AUTO_TEST_CASE(schema_violations_name_the_path) {
  Steps s(std::string("  - {kind: parser, name: p, format: json, schema: event.json}\n") + kOut,
          "event.json",
          R"({"type": "object", "required": ["id"],
              "properties": {"id": {"type": "integer"}, "tags": {"type": "array"}}})");
  s.send(R"({"id": 7})");
  s.send(R"({"id": "seven"})");
  s.send(R"({"tags": []})");
  BOOST_TEST(s.values() == (Strings{R"({"id": 7})"}), boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "p@1: does not match the schema at <root>[id]"), s.errors());
  BOOST_TEST(contains(s.errors(), "p@2: does not match the schema"), s.errors());
}

BOOST_AUTO_TEST_CASE(msgpack_parses_to_json_and_serializes_back) {
  Steps s(std::string("  - {kind: parser, name: p, format: msgpack}\n") +
          "  - {kind: map, name: u, plugin: testkit, function: upper}\n"
          "  - {kind: serializer, name: s, format: msgpack}\n" +
          kOut);
  s.send(msgpack_of(R"({"k": "v"})"));
  s.send("\xc1");  // never used in msgpack
  BOOST_TEST(s.values() == (Strings{msgpack_of(R"({"K": "V"})")}),
             boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "p@1: not valid msgpack"), s.errors());
}

// sentry-kafka-schemas bounds integers by uint64's maximum; the instance
// values above int64's maximum are checked too.
BOOST_AUTO_TEST_CASE(real_ingest_metrics_schema_takes_uint64_bounds) {
  for (const char* format : {"json", "msgpack"}) {
    Steps s(std::string("  - {kind: parser, name: p, format: ") + format +
            ", schema: " TEST_DATA_DIR "/ingest-metrics.v1.schema.json}\n" + kOut);
    const std::string message =
        R"({"org_id": 420, "project_id": 420, "name": "s:sessions/user@none", "tags": )"
        R"({"sdk": "raven-node/2.6.3", "environment": "production", "release": )"
        R"("sentry-test@1.0.0"}, "timestamp": 1846062325, "type": "c", "retention_days": 90, )"
        R"("value": [1617781333]})";
    auto as = [&](std::string text) {
      return std::string(format) == "json" ? text : msgpack_of(text.c_str());
    };
    auto with_org = [&](const std::string& org) {
      std::string text = message;
      return as(text.replace(text.find("420"), 3, org));
    };
    s.send(as(message));
    s.send(with_org("18446744073709551615"));
    s.send(with_org("-1"));
    s.send(with_org("1.5"));
    const Strings out = s.values();  // JSON text (converted from msgpack)
    BOOST_REQUIRE_EQUAL(out.size(), 2u);
    BOOST_TEST(nlohmann::json::parse(out[0]) == nlohmann::json::parse(message));
    BOOST_TEST(nlohmann::json::parse(out[1])["org_id"].get<uint64_t>() == UINT64_MAX);
    BOOST_TEST(contains(s.errors(), "p@2: does not match the schema at <root>[org_id]"),
               s.errors());
    BOOST_TEST(contains(s.errors(), "p@3: does not match the schema at <root>[org_id]"),
               s.errors());
  }
}

// Each once aborted or crashed the host (nlohmann_json's dump() threw on
// invalid UTF-8; from_msgpack, to_msgpack and valijson recursed).
BOOST_AUTO_TEST_CASE(hostile_records_are_record_errors) {
  Steps m(std::string("  - {kind: parser, name: p, format: msgpack}\n") + kOut);
  m.send("\xa1\xff");
  m.send(std::string(100000, '\x91') + "\xc0");
  m.send("\x91\xc0");
  BOOST_TEST(m.values() == (Strings{"[null]"}), boost::test_tools::per_element());
  BOOST_TEST(contains(m.errors(), "p@0: not valid msgpack: a string that is not valid UTF-8"),
             m.errors());
  BOOST_TEST(contains(m.errors(), "p@1: not valid msgpack: nested deeper than 256 levels"),
             m.errors());

  Steps j(std::string("  - {kind: parser, name: p, format: json, schema: any.json}\n") +
              "  - {kind: serializer, name: s, format: msgpack}\n" + kOut,
          "any.json", R"({"type": ["array", "object", "number"]})");
  j.send(std::string(100000, '[') + std::string(100000, ']'));
  j.send(std::string(200, '[') + std::string(200, ']'));
  BOOST_TEST(j.values().size() == 1u);
  BOOST_TEST(contains(j.errors(), "p@0: not valid JSON: nested deeper than 256 levels"),
             j.errors());
}

BOOST_AUTO_TEST_CASE(json_serializer_refuses_what_is_not_json) {
  Steps s(std::string("  - {kind: serializer, name: s, format: json}\n") + kOut);
  s.send("[1, 2]");
  s.send("plain text");
  BOOST_TEST(s.values() == (Strings{"[1, 2]"}), boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "s@1: cannot serialize: not valid JSON"), s.errors());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(batch)

BOOST_AUTO_TEST_CASE(count_batches_hold_their_inputs_until_emitted) {
  Steps s(std::string("  - {kind: batch, name: b, max_count: 2}\n") + kOut);
  s.send("1", 10);
  BOOST_TEST(s.driver.committable() == 0);  // held by the open batch
  s.send(R"({"a":2})", 20);
  s.send("3", 30);
  BOOST_TEST(s.values() == (Strings{R"([1,{"a":2}])"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.outputs("out")[0].timestamp_ms == 20);
  BOOST_TEST(s.driver.committable() == 2);
  s.send("not json");
  BOOST_TEST(contains(s.errors(), "b@3: a json batch takes JSON values"), s.errors());
  BOOST_REQUIRE(s.driver.finish());
  BOOST_TEST(s.values() == (Strings{R"([1,{"a":2}])", "[3]"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.committable() == 4);
}

BOOST_AUTO_TEST_CASE(time_limit_emits_on_the_clock) {
  Steps s(std::string("  - {kind: batch, name: b, max_wait_ms: 500}\n") + kOut);
  s.send("1");
  s.send("2");
  BOOST_REQUIRE(s.driver.advance_time(100));
  BOOST_TEST(s.values().empty());
  BOOST_REQUIRE(s.driver.advance_time(1000));
  BOOST_TEST(s.values() == (Strings{"[1,2]"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(msgpack_batches_take_any_bytes) {
  Steps s(std::string("  - {kind: batch, name: b, max_count: 2, format: msgpack}\n") + kOut);
  s.send("raw");
  s.send("");
  const std::string v = s.values().at(0);
  const auto parsed = nlohmann::json::from_msgpack(v);
  BOOST_REQUIRE(parsed.is_array());
  BOOST_REQUIRE_EQUAL(parsed.size(), 2u);
  const auto& first = parsed[0].get_binary();
  BOOST_TEST(std::string(first.begin(), first.end()) == "raw");
  BOOST_TEST(parsed[1].get_binary().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reduce)

BOOST_AUTO_TEST_CASE(tumbling_count_window_grouped_by_key) {
  Steps s(reduce_step("count",
                      "    window: {type: tumbling, size: 2}\n"
                      "    group_by: {plugin: testkit, function: prefix_key}\n"));
  for (const char* v : {"a:1", "b:1", "a:2", "b:2", "a:3"}) s.send(v);
  BOOST_TEST(s.values() == (Strings{"a=2", "b=2"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.outputs("out")[0].key.value_or("<null>") == "a");
  BOOST_TEST(s.driver.committable() == 4);  // a:3 opened a window
  BOOST_REQUIRE(s.driver.finish());
  BOOST_TEST(s.values() == (Strings{"a=2", "b=2", "a=1"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.committable() == 5);
}

BOOST_AUTO_TEST_CASE(sliding_count_window_merges_panes) {
  Steps s(reduce_step("collect", "    window: {type: sliding, size: 4, slide: 2}\n"));
  for (const char* v : {"1", "2", "3", "4", "5", "6", "7"}) s.send(v);
  BOOST_TEST(s.values() == (Strings{"[1,2,3,4]", "[3,4,5,6]"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.committable() == 4);  // the pane of 5, 6 and the one of 7 stay open
  BOOST_REQUIRE(s.driver.finish());
  BOOST_TEST(s.values().back() == "[5,6,7]");
}

BOOST_AUTO_TEST_CASE(tumbling_time_windows_close_on_event_time) {
  Steps s(reduce_step("collect", "    window: {type: tumbling, size_ms: 1000}\n"));
  s.send("a", 100);
  s.send("b", 900);
  s.send("c", 1500);  // window [0, 1000) still open: the watermark is 1500
  BOOST_TEST(s.values() == (Strings{"[a,b]"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.outputs("out")[0].timestamp_ms == 999);
  s.send("late", 999);
  BOOST_TEST(contains(s.errors(), "r@3: late: event time 999"), s.errors());
  s.send("d", 2000);
  BOOST_TEST(s.values() == (Strings{"[a,b]", "[c]"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sliding_time_windows_6s_by_2s) {
  Steps s(reduce_step("collect", "    window: {type: sliding, size_ms: 6000, slide_ms: 2000}\n"));
  s.send("a", 1000);
  s.send("b", 3000);
  s.send("c", 7000);
  // Ends 2000 [-4000,2000): a; 4000: a,b; 6000: a,b.
  BOOST_TEST(s.values() == (Strings{"[a]", "[a,b]", "[a,b]"}), boost::test_tools::per_element());
  BOOST_REQUIRE(s.driver.finish());
  // 8000: b,c; 10000: c; 12000: c.
  BOOST_TEST(s.values() == (Strings{"[a]", "[a,b]", "[a,b]", "[b,c]", "[c]", "[c]"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(allowed_lateness_and_idle_flush) {
  Steps s(reduce_step("count",
                      "    window: {type: tumbling, size_ms: 1000}\n"
                      "    allowed_lateness_ms: 500\n    idle_flush_ms: 200\n"));
  s.send("a", 100);
  s.send("b", 1200);
  s.send("c", 800);  // not late: the watermark is 700
  BOOST_TEST(s.values().empty());
  BOOST_REQUIRE(s.driver.advance_time(50));
  BOOST_TEST(s.values().empty());
  BOOST_REQUIRE(s.driver.advance_time(5000));
  BOOST_TEST(s.values() == (Strings{"2", "1"}), boost::test_tools::per_element());
  BOOST_TEST(s.driver.committable() == 3);
}

BOOST_AUTO_TEST_CASE(aggregate_errors_are_record_errors) {
  Steps s(reduce_step("collect", "    window: {type: tumbling, size: 2}\n"));
  s.send("x");
  s.send("bad");
  s.send("y");
  BOOST_TEST(s.values() == (Strings{"[x,y]"}), boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "r@1: collect refuses \"bad\""), s.errors());
}

BOOST_AUTO_TEST_SUITE_END()

// A step that declares `state:` keeps a key-value store on its partition.
BOOST_AUTO_TEST_CASE(state_put_get_erase_scan) {
  Steps s("  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {}}\n" +
          std::string(kOut));
  for (const char* cmd : {"put a2 two", "put a1 one", "put b1 bee", "get a1", "get zz", "scan a",
                          "erase a1", "get a1", "scan ", "put e ", "get e"}) {
    s.send(cmd);
  }
  BOOST_TEST(s.values() == (Strings{"ok", "ok", "ok", "one", "(none)", "a1=one,a2=two", "ok",
                                    "(none)", "a2=two,b1=bee", "ok", ""}),
             boost::test_tools::per_element());
  BOOST_TEST(s.errors() == "");
  BOOST_TEST(s.driver.state("st", "b1").value_or("(none)") == "bee");
  BOOST_TEST(!s.driver.state("st", "a1"));
  BOOST_CHECK_THROW(s.driver.state("nope", "a1"), std::out_of_range);
}

// A state call from a step without `state:`, from inside a scan, or with a
// value over max_value_bytes fails the input (a contract error) whatever
// the function returns; its output does not go on.
BOOST_AUTO_TEST_CASE(state_misuse_is_a_contract_error_of_the_record) {
  Steps plain("  - {kind: map, name: st, plugin: testkit, function: state_ops}\n" +
              std::string(kOut));
  plain.send("get a");
  BOOST_TEST(plain.values().empty());
  BOOST_TEST(contains(plain.errors(), "st@0: a state call from a step that declares no state"),
             plain.errors());
  BOOST_TEST(plain.driver.errors().at(0).kind == STREAMS_ERR_CONTRACT);

  Steps s(
      "  - {kind: map, name: st, plugin: testkit, function: state_ops, state: "
      "{max_value_bytes: 10}}\n" +
      std::string(kOut));
  s.send("put k v");
  s.send("nested k");
  s.send("big 10");
  s.send("big 11");
  s.send("get big");
  BOOST_TEST(s.values() == (Strings{"ok", "ok", "xxxxxxxxxx"}), boost::test_tools::per_element());
  BOOST_TEST(contains(s.errors(), "st@1: a state call from inside a state scan's visit"),
             s.errors());
  BOOST_TEST(contains(s.errors(),
                      "st@3: state_put: the value is larger than the step's "
                      "state.max_value_bytes"),
             s.errors());
}

// ttl_ms counts from each write in event time (the highest input timestamp).
BOOST_AUTO_TEST_CASE(state_ttl_in_event_time) {
  Steps s(
      "  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {ttl_ms: "
      "1000}}\n" +
      std::string(kOut));
  s.send("put k v", 5000);
  s.send("get k", 5999);
  s.send("get k", 4000);  // a late input does not move the clock back
  s.send("get k", 6000);
  BOOST_TEST(s.values() == (Strings{"ok", "v", "v", "(none)"}), boost::test_tools::per_element());
}

// State belongs to the step's name, not its place: a reload that moves the
// step keeps it; one that renames it, which would drop it, is refused.
BOOST_AUTO_TEST_CASE(a_reload_keeps_state_by_step_name) {
  Steps s("  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {}}\n" +
          std::string(kOut));
  s.send("put k v");
  s.driver.reload(s.dir.write("moved.yaml",
                              "source: {name: in, stream_name: in}\nsteps:\n"
                              "  - {kind: map, name: rk, plugin: testkit, function: rekey}\n"
                              "  - {kind: map, name: st, plugin: testkit, function: state_ops, "
                              "state: {}}\n" +
                                  std::string(kOut)));
  s.send("get k");
  s.send("put k w");
  const std::string renamed =
      s.dir.write("renamed.yaml",
                  "source: {name: in, stream_name: in}\nsteps:\n"
                  "  - {kind: map, name: st2, plugin: testkit, function: state_ops, state: {}}\n" +
                      std::string(kOut));
  try {
    s.driver.reload(renamed);
    BOOST_FAIL("a reload that drops state was applied");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(contains(e.what(),
                        "holds the state of step(s) 'st' that the pipeline no longer "
                        "keeps"),
               e.what());
  }
  s.send("get k");  // the old generation runs on
  BOOST_TEST(s.values() == (Strings{"ok", "v", "ok", "w"}), boost::test_tools::per_element());
  BOOST_TEST(s.errors() == "");
}

// Batches and windows of a step that declares `state:` are state: a
// restart (as after kill -9) goes on from the last commit with them, so the
// outputs equal those of a run without one, each input counted once, and
// an output emitted again is identical.
BOOST_AUTO_TEST_SUITE(state_backed)

struct Run {
  Strings outputs;
  std::string errors;
};

// Sends `inputs` (value, timestamp) through `steps`, committing after every
// `commit_every` inputs and restarting after those listed in `crashes`
// (indices), then sending again from the last commit.
Run run_with_crashes(const std::string& steps,
                     const std::vector<std::pair<std::string, int64_t>>& inputs,
                     size_t commit_every, std::vector<size_t> crashes) {
  Steps s(steps);
  size_t sent = 0;
  for (size_t i = 0; i < inputs.size();) {
    s.send(inputs[i].first, inputs[i].second);
    ++i;
    if (++sent % commit_every == 0) BOOST_REQUIRE(s.driver.commit());
    if (!crashes.empty() && crashes.front() + 1 == i) {
      crashes.erase(crashes.begin());
      i = static_cast<size_t>(s.driver.restart());
    }
  }
  return {s.values(), s.errors()};
}

// Every output of `crashed` is one of `clean`'s, and each of `clean`'s is
// there, in order (duplicates, identical, may repeat a run of them).
void same_outputs(const Strings& clean, const Strings& crashed) {
  size_t next = 0;  // the first of clean's not yet seen
  for (const std::string& out : crashed) {
    auto it = std::find(clean.begin(), clean.end(), out);
    BOOST_TEST_REQUIRE((it != clean.end()), "an output no crash-free run has: " << out);
    const auto at = static_cast<size_t>(it - clean.begin());
    BOOST_TEST_REQUIRE(at <= next, "output " << out << " before " << clean[next]);
    if (at == next) ++next;
  }
  BOOST_TEST(next == clean.size(),
             "missing from the crashed run: " << (next < clean.size() ? clean[next] : ""));
}

std::vector<std::pair<std::string, int64_t>> keyed_inputs(size_t n) {
  std::vector<std::pair<std::string, int64_t>> out;
  const char* keys[] = {"a", "b", "a", "c", "a", "b", "c", "c", "b", "a", "b"};
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back(std::string(keys[i % 11]) + ":" + std::to_string(i),
                     static_cast<int64_t>(1000 + 150 * i));
  }
  return out;
}

BOOST_AUTO_TEST_CASE(count_windows_continue_after_a_restart) {
  const std::string steps = reduce_step("collect",
                                        "    window: {type: sliding, size: 4, slide: 2}\n"
                                        "    group_by: {plugin: testkit, function: prefix_key}\n"
                                        "    state: {}\n");
  const auto inputs = keyed_inputs(60);
  const Run clean = run_with_crashes(steps, inputs, 1000, {});
  BOOST_TEST_REQUIRE(clean.outputs.size() > 10u);
  for (size_t commit_every : {1, 3, 7}) {
    const Run crashed = run_with_crashes(steps, inputs, commit_every, {5, 13, 14, 29, 41, 58});
    same_outputs(clean.outputs, crashed.outputs);
    BOOST_TEST(crashed.errors == "");
  }
}

BOOST_AUTO_TEST_CASE(time_windows_continue_after_a_restart) {
  const std::string steps =
      reduce_step("collect",
                  "    window: {type: sliding, size_ms: 1000, slide_ms: 500}\n"
                  "    allowed_lateness_ms: 200\n"
                  "    group_by: {plugin: testkit, function: prefix_key}\n"
                  "    state: {}\n");
  auto inputs = keyed_inputs(60);
  inputs[20].second -= 1600;  // late: its windows closed
  const Run clean = run_with_crashes(steps, inputs, 1000, {});
  BOOST_TEST_REQUIRE(clean.outputs.size() > 10u);
  BOOST_TEST(contains(clean.errors, "r@20: late"), clean.errors);
  for (size_t commit_every : {1, 4}) {
    const Run crashed = run_with_crashes(steps, inputs, commit_every, {3, 19, 20, 33, 50});
    same_outputs(clean.outputs, crashed.outputs);
    BOOST_TEST(contains(crashed.errors, "r@20: late"), crashed.errors);
  }
}

BOOST_AUTO_TEST_CASE(batches_continue_after_a_restart) {
  const std::string steps =
      std::string("  - {kind: batch, name: b, max_count: 4, state: {}}\n") + kOut;
  std::vector<std::pair<std::string, int64_t>> inputs;
  for (int i = 0; i < 30; ++i) inputs.emplace_back(std::to_string(i), 10 * i);
  const Run clean = run_with_crashes(steps, inputs, 1000, {});
  BOOST_TEST_REQUIRE(clean.outputs.size() == 7u);
  const Run crashed = run_with_crashes(steps, inputs, 3, {1, 6, 9, 17, 26});
  same_outputs(clean.outputs, crashed.outputs);
}

// Held inputs are what keeps an in-memory window exact; a state-backed one
// holds none, so commits go past it.
BOOST_AUTO_TEST_CASE(state_backed_windows_hold_no_input) {
  Steps s(reduce_step("collect", "    window: {type: tumbling, size: 3}\n    state: {}\n"));
  s.send("1");
  s.send("2");
  BOOST_TEST(s.driver.committable() == 2);
  BOOST_REQUIRE(s.driver.commit());
  BOOST_TEST(s.driver.restart() == 2);
  s.send("3");
  BOOST_TEST(s.values() == (Strings{"[1,2,3]"}), boost::test_tools::per_element());
}

// A window closed by idle_flush_ms has no input: its state changes belong
// with the next input, so a restart before that one is committed emits it
// again, the same, and then the window is closed as in the first run.
BOOST_AUTO_TEST_CASE(an_idle_flush_is_emitted_again_after_a_restart_before_the_next_input) {
  Steps s(reduce_step("collect",
                      "    window: {type: tumbling, size_ms: 1000}\n"
                      "    idle_flush_ms: 100\n    state: {}\n"));
  s.send("a", 100);
  s.send("b", 200);
  BOOST_REQUIRE(s.driver.advance_time(500));
  BOOST_TEST(s.values() == (Strings{"[a,b]"}), boost::test_tools::per_element());
  BOOST_REQUIRE(s.driver.commit());
  BOOST_TEST(s.driver.committable() == 2);
  BOOST_TEST(s.driver.restart() == 2);
  BOOST_REQUIRE(s.driver.advance_time(50));  // a restarted host waits idle_flush_ms again
  BOOST_TEST(s.values().size() == 1u);
  BOOST_REQUIRE(s.driver.advance_time(500));
  BOOST_TEST(s.values() == (Strings{"[a,b]", "[a,b]"}), boost::test_tools::per_element());
  s.send("c", 300);
  BOOST_TEST(contains(s.errors(), "r@2: late"), s.errors());
}

BOOST_AUTO_TEST_CASE(state_of_a_reduce_step_is_its_windows) {
  BOOST_CHECK_EXCEPTION(
      Steps(reduce_step("collect",
                        "    window: {type: tumbling, size: 3}\n    state: {ttl_ms: 5}\n")),
      std::runtime_error, [](const std::runtime_error& e) {
        return contains(e.what(), "steps[0].state.ttl_ms") &&
               contains(e.what(), "a reduce step's state keeps its open records");
      });
  Steps s(reduce_step("collect",
                      "    window: {type: tumbling, size: 2}\n    state: {max_value_bytes: 25}\n"));
  s.send("0123456789");
  s.send(std::string(20, 'x'));  // 31 bytes of accumulator
  s.send("y");
  BOOST_TEST(contains(s.errors(), "r@1: the window's accumulator would grow to 31 bytes"),
             s.errors());
  BOOST_TEST(s.values() == (Strings{"[0123456789,y]"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// A function's state_version (ABI 1.5) tags what it writes; a reload to a
// version that converts older values (migrate) converts each on its first
// read and stores it; one that cannot (no migrate, or a newer value) fails
// the input reading it.
BOOST_AUTO_TEST_CASE(state_versions_migrate_lazily_on_first_read) {
  Steps s("  - {kind: map, name: st, plugin: testkit, function: state_ops, state: {}}\n" +
          std::string(kOut));
  for (const char* cmd : {"put a one", "put b two", "put g gone", "put x broken"}) s.send(cmd);
  const auto v2 = [&](const char* function) {
    return s.dir.write(std::string(function) + ".yaml",
                       "source: {name: in, stream_name: in}\nsteps:\n"
                       "  - {kind: map, name: st, plugin: testkit, function: " +
                           std::string(function) + ", state: {}}\n" + kOut);
  };
  s.driver.reload(v2("state_ops_v2"));
  for (const char* cmd : {"get a", "get a", "scan b", "get g", "get x", "put c three", "get c"}) {
    s.send(cmd);
  }
  BOOST_TEST(s.values() == (Strings{"ok", "ok", "ok", "ok", "one@v0", "one@v0", "b=two@v0",
                                    "(none)", "ok", "three"}),
             boost::test_tools::per_element());
  BOOST_TEST(s.driver.state("st", "a").value_or("") == "one@v0");  // stored converted
  BOOST_TEST(s.driver.state("st", "b").value_or("") == "two");     // a scan does not store
  BOOST_TEST(!s.driver.state("st", "g"));                          // erased
  BOOST_TEST(contains(s.errors(),
                      "st@8: migrate of a state value of version 0 (this function "
                      "is version 2): cannot convert \"broken\""),
             s.errors());
  // Back to version 0: what version 2 wrote cannot be read by it.
  s.driver.reload(v2("state_ops"));
  s.send("get c");
  s.send("get zz");
  BOOST_TEST(contains(s.errors(),
                      "st@11: state: a state value of version 2 (this function is "
                      "version 0): a newer version of the function wrote it"),
             s.errors());
  BOOST_TEST(s.values().back() == "(none)");
}

// Started again with other window settings, a step emits each group's
// stored panes as one window before it takes the next record.
BOOST_AUTO_TEST_CASE(stored_windows_of_other_settings_are_emitted_at_start) {
  Steps s(reduce_step("collect",
                      "    window: {type: sliding, size: 4, slide: 2}\n"
                      "    group_by: {plugin: testkit, function: prefix_key}\n    state: {}\n"));
  for (const char* v : {"a:1", "b:1", "a:2", "a:3"}) s.send(v);
  BOOST_REQUIRE(s.driver.commit());
  const std::string tumbling = s.dir.write(
      "tumbling.yaml", "source: {name: in, stream_name: in}\nsteps:\n" +
                           reduce_step("collect",
                                       "    window: {type: tumbling, size: 2}\n"
                                       "    group_by: {plugin: testkit, function: prefix_key}\n"
                                       "    state: {}\n"));
  BOOST_TEST(s.driver.restart(tumbling) == 4);
  for (const char* v : {"a:4", "a:5"}) s.send(v);
  BOOST_TEST(s.values() == (Strings{"[a:1,a:2,a:3]", "[b:1]", "[a:4,a:5]"}),
             boost::test_tools::per_element());
}

// ABI 1.11: what a step's plugin counted, as the driver reports it.
BOOST_AUTO_TEST_CASE(a_plugins_counters_through_the_driver) {
  Steps s(std::string("  - {kind: map, name: tally, plugin: testkit, function: counted}\n") + kOut);
  s.send("ab");
  s.send("cde");
  BOOST_TEST(s.driver.counter("tally", "records") == 2u);
  BOOST_TEST(s.driver.counter("tally", "value_bytes") == 5u);
  BOOST_TEST(s.driver.counter("tally", "never_made") == 0u);
  Steps again(std::string("  - {kind: map, name: tally, plugin: testkit, function: counted}\n") +
              kOut);
  again.send("f");
  BOOST_TEST(again.driver.counter("tally", "records") == 1u);  // since it started
  // ABI 1.12: a gauge's value now.
  BOOST_TEST(again.driver.gauge("tally", "last_value_bytes").value_or(-1) == 1);
  BOOST_TEST(!again.driver.gauge("tally", "never_made"));
  BOOST_TEST(!again.driver.gauge("other", "last_value_bytes"));
}
