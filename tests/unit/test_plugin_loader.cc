#define BOOST_TEST_MODULE plugin_loader
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "fakes.h"
#include "pipeline/chain.h"
#include "test_util.h"

using namespace streams;
using namespace streams::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string load_error(const std::string& path) {
  std::string error;
  auto lib = plugin::PluginLibrary::load(path, &error);
  BOOST_TEST(!lib);
  return error;
}

std::string build_errors(const std::string& steps_yaml, const std::string& plugins_dir) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build(dir, steps_yaml, plugins_dir, diag);
  BOOST_TEST(!g);
  return all_errors(diag);
}

const std::string kDir = TEST_PLUGINS_DIR;

}  // namespace

BOOST_AUTO_TEST_CASE(loads_a_plugin_and_lists_its_functions) {
  std::string error;
  auto lib = plugin::PluginLibrary::load(kDir + "/testkit.so", &error);
  BOOST_REQUIRE_MESSAGE(lib, error);
  BOOST_TEST(lib->name() == "testkit");
  BOOST_TEST(lib->version() == "2.3.4");
  BOOST_TEST(lib->find("upper") != nullptr);
  BOOST_TEST(lib->find("nope") == nullptr);
  BOOST_TEST(contains(lib->function_names(), "upper, starts_with_a"));
}

BOOST_AUTO_TEST_CASE(refuses_another_abi_major_naming_both) {
  std::string error = load_error(kDir + "/abi_v2.so");
  BOOST_TEST(contains(error, kDir + "/abi_v2.so: built for plugin ABI v2"), error);
  BOOST_TEST(contains(error, "this host supports ABI v1"), error);
}

BOOST_AUTO_TEST_CASE(refuses_a_library_without_entry_symbol) {
  std::string error = load_error(kDir + "/no_entry.so");
  BOOST_TEST(contains(error, "no_entry.so: no entry symbol streams_plugin_entry_v1"), error);
}

BOOST_AUTO_TEST_CASE(refuses_a_file_that_is_not_a_library) {
  TempDir dir;
  std::string error = load_error(dir.write("text.so", "not an ELF file\n"));
  BOOST_TEST(contains(error, "text.so: not a loadable shared library"), error);
}

BOOST_AUTO_TEST_CASE(checks_descriptors) {
  BOOST_TEST(plugin::check_descriptor(nullptr) == "entry point returned no descriptor");
  streams_plugin d{sizeof(streams_plugin), 1, 0, "x", "1", 0, nullptr};
  BOOST_TEST(plugin::check_descriptor(&d) == "");
  d.abi_major = 3;
  BOOST_TEST(contains(plugin::check_descriptor(&d), "declares ABI v3"));
  d.abi_major = 1;
  d.name = nullptr;
  BOOST_TEST(plugin::check_descriptor(&d) == "descriptor has no plugin name");
}

BOOST_AUTO_TEST_CASE(missing_plugin_names_the_paths_and_the_key) {
  std::string errors = build_errors("  - {kind: map, name: m, plugin: ghost, function: f}\n", kDir);
  BOOST_TEST(contains(errors, "pipeline.yaml:3:"), errors);
  BOOST_TEST(contains(errors, "steps[0].plugin: plugin 'ghost' not found: no " + kDir +
                                  "/ghost.so or " + kDir + "/libghost.so"),
             errors);
}

BOOST_AUTO_TEST_CASE(failing_init_is_refused_with_the_plugins_reason) {
  std::string errors =
      build_errors("  - {kind: map, name: m, plugin: failing_init, function: strict}\n", kDir);
  BOOST_TEST(contains(errors, "steps[0].function: plugin 'failing_init' (" + kDir +
                                  "/failing_init.so) function 'strict' failed to initialise: "
                                  "config.threshold is required"),
             errors);
}

BOOST_AUTO_TEST_CASE(init_succeeds_with_the_config_it_needs) {
  TempDir dir;
  config::Diagnostics diag;
  auto g = build(dir,
                 "  - {kind: map, name: m, plugin: failing_init, function: strict, "
                 "config: {threshold: 3}}\n",
                 kDir, diag);
  BOOST_TEST(g != nullptr, all_errors(diag));
}

BOOST_AUTO_TEST_CASE(unknown_function_lists_the_exports) {
  std::string errors =
      build_errors("  - {kind: map, name: m, plugin: testkit, function: nope}\n", kDir);
  BOOST_TEST(contains(errors, "has no function 'nope'; it exports: upper, starts_with_a"), errors);
}

BOOST_AUTO_TEST_CASE(function_kind_must_match_the_step) {
  std::string errors =
      build_errors("  - {kind: filter, name: m, plugin: testkit, function: upper}\n", kDir);
  BOOST_TEST(contains(errors,
                      "function 'upper' of plugin 'testkit' is a map, but step 'm' is a "
                      "filter"),
             errors);
}

BOOST_AUTO_TEST_CASE(file_name_must_match_the_declared_name) {
  TempDir dir;
  fs::copy_file(kDir + "/testkit.so", dir.path() + "/other.so");
  std::string errors =
      build_errors("  - {kind: map, name: m, plugin: other, function: upper}\n", dir.path());
  BOOST_TEST(contains(errors, "the file is plugin 'testkit', not 'other'"), errors);
}

BOOST_AUTO_TEST_CASE(overwriting_the_file_does_not_touch_the_loaded_code) {
  TempDir dir;
  fs::copy_file(kDir + "/testkit.so", dir.path() + "/testkit.so");
  config::Diagnostics diag;
  auto g =
      build(dir, "  - {kind: map, name: up, plugin: testkit, function: upper}\n", dir.path(), diag);
  BOOST_REQUIRE_MESSAGE(g, all_errors(diag));
  dir.write("testkit.so", "garbage");  // truncates and rewrites the user's file in place
  FakeSink sink;
  FakeErrors errors;
  std::string error;
  auto chain = pipeline::Chain::create(g, {&sink}, errors, &error);
  BOOST_REQUIRE_MESSAGE(chain, error);
  const char* value = "abc";
  streams_record r{};
  r.struct_size = sizeof(r);
  r.value = {reinterpret_cast<const uint8_t*>(value), 3};
  const streams_origin origin{sizeof(streams_origin), "t", 0, 0};
  BOOST_TEST((chain->process(r, origin, 1) == pipeline::ChainResult::ok));
  BOOST_REQUIRE(sink.written.size() == 1u);
  BOOST_TEST(sink.written[0].value == "ABC");
}
