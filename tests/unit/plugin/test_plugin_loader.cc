#define BOOST_TEST_MODULE plugin_loader
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "fakes.h"
#include "pipeline/chain.h"
#include "plugin/elf_check.h"
#include "plugin/python_provider.h"
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
  BOOST_TEST(contains(error, "text.so: not an ELF file"), error);
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

namespace {
int32_t no_write(void*, const streams_sink_batch*, streams_call*) { return STREAMS_OK; }
int32_t no_poll(void*, int32_t, streams_call*) { return STREAMS_OK; }
void* no_create(const streams_host_api*, const char*, size_t, char*, size_t) { return nullptr; }
void no_destroy(void*) {}
}  // namespace

// ABI 1.10: several batches of a partition out suit writes that commute;
// an exactly-once sink's position needs them in order.
BOOST_AUTO_TEST_CASE(an_exactly_once_sink_takes_one_batch_of_a_partition_at_a_time) {
  streams_function f{};
  f.struct_size = sizeof f;
  f.kind = STREAMS_KIND_SINK;
  f.name = "rows";
  f.create = &no_create;
  f.destroy = &no_destroy;
  f.write_batch = &no_write;
  f.poll_sink = &no_poll;
  f.sink_guarantee = STREAMS_SINK_EXACTLY_ONCE;
  f.sink_batches_out = 4;
  const streams_function* fns[] = {&f};
  streams_plugin d{sizeof(streams_plugin), 1, 10, "x", "1", 1, fns};
  BOOST_TEST(contains(plugin::check_descriptor(&d),
                      "function 'rows' declares sink_batches_out 4 with an exactly-once"),
             plugin::check_descriptor(&d));
  f.sink_batches_out = 1;
  BOOST_TEST(plugin::check_descriptor(&d) == "");
  f.sink_guarantee = STREAMS_SINK_AT_LEAST_ONCE;
  f.sink_batches_out = 4;
  BOOST_TEST(plugin::check_descriptor(&d) == "");
}

BOOST_AUTO_TEST_CASE(missing_plugin_names_the_paths_and_the_key) {
  std::string errors = build_errors("  - {kind: map, name: m, plugin: ghost, function: f}\n", kDir);
  BOOST_TEST(contains(errors, "pipeline.yaml:3:"), errors);
  BOOST_TEST(contains(errors, "steps[0].plugin: plugin 'ghost' not found: no " + kDir +
                                  "/ghost.so or " + kDir + "/libghost.so"),
             errors);
  BOOST_TEST(!contains(errors, "did you mean"), errors);
  // A typo of a plugin in the directory: that one is named.
  errors = build_errors("  - {kind: map, name: m, plugin: testkt, function: upper}\n", kDir);
  BOOST_TEST(contains(errors, "/libtestkt.so; did you mean 'testkit'?"), errors);
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
  errors = build_errors("  - {kind: map, name: m, plugin: testkit, function: uper}\n", kDir);
  BOOST_TEST(contains(errors,
                      "has no function 'uper'; did you mean 'upper'? it exports: upper, "
                      "starts_with_a"),
             errors);
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
  metrics::PipelineMetrics metrics{"test"};
  std::string error;
  auto chain = pipeline::Chain::create(g, {&sink}, errors, metrics, &error);
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

BOOST_AUTO_TEST_SUITE(hostile_files)

BOOST_AUTO_TEST_CASE(stripped_and_debug_plugins_load) {
  std::string error;
  auto stripped = plugin::PluginLibrary::load(kDir + "/stripped/testkit.so", &error);
  BOOST_REQUIRE_MESSAGE(stripped, error);
  BOOST_TEST(stripped->find("upper") != nullptr);
  auto c = plugin::PluginLibrary::load(kDir + "/c_echo.so", &error);  // C, built with -g
  BOOST_REQUIRE_MESSAGE(c, error);
  BOOST_TEST(c->find("echo") != nullptr);
}

// Every truncation of a real plugin is refused before dlopen (a segment past
// the end of the file would fault when touched), saying why. (A hang would
// show as the test's timeout.)
BOOST_AUTO_TEST_CASE(truncated_files_load_nothing) {
  std::ifstream in(kDir + "/testkit.so", std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  TempDir dir;
  std::vector<size_t> sizes;
  for (size_t size = 0; size < whole.size(); size += whole.size() / 97 + 1) sizes.push_back(size);
  // The last 4 KiB closely: the section headers, which a linker writes last
  // (the symbols the loader reads may be whole when they are cut).
  for (size_t cut = 1; cut <= 4096 && cut < whole.size(); cut += 61) {
    sizes.push_back(whole.size() - cut);
  }
  for (size_t size : sizes) {
    const std::string path = dir.write("cut.so", whole.substr(0, size));
    const std::string error = load_error(path);
    BOOST_TEST((contains(error, "truncated") || contains(error, "not an ELF file")),
               size << ": " << error);
  }
}

// Bytes of the ELF header, program and section headers and the dynamic
// symbol table changed at random: the check ends every time (work linear in
// the file), and a refusal names the problem.
BOOST_AUTO_TEST_CASE(corrupted_headers_are_read_safely) {
  std::ifstream in(kDir + "/testkit.so", std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  TempDir dir;
  std::mt19937 rng(7);
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string bytes = whole;
    const size_t region = i % 3 == 0 ? 64 : i % 3 == 1 ? 4096 : bytes.size();
    for (int m = 0; m < 1 + i % 8; ++m) {
      size_t at = rng() % region;
      if (i % 3 == 2) at = bytes.size() - 1 - rng() % 4096;  // the section headers' end
      bytes[at] = static_cast<char>(rng());
    }
    plugin::ElfSymbols symbols;
    std::string error;
    if (!plugin::read_elf_symbols(dir.write("bad.so", bytes), &symbols, &error)) {
      ++refused;
      BOOST_TEST(!error.empty());
      BOOST_TEST(!contains(error, "iostream"), error);
    }
  }
  BOOST_TEST(refused > 100);
}

BOOST_AUTO_TEST_CASE(names_must_be_plain_and_files_inside_the_directory) {
  TempDir dir, outside;
  fs::copy_file(kDir + "/testkit.so", outside.path() + "/testkit.so");
  plugin::PluginRegistry registry(dir.path());
  std::string error;
  for (const char* name : {"../x", "/abs/testkit", ".hidden", "a/b", ""}) {
    BOOST_TEST(!registry.get(name, &error));
    BOOST_TEST(contains(error, "is not a plain name"), error);
  }
  fs::create_symlink(outside.path() + "/testkit.so", dir.path() + "/testkit.so");
  BOOST_TEST(!registry.get("testkit", &error));
  BOOST_TEST(contains(error, "resolves to " + fs::canonical(outside.path()).string() +
                                 "/testkit.so, outside the plugins directory"),
             error);
  BOOST_TEST(contains(error, "--allow-plugins-outside-dir"), error);
  registry.set_policy({/*allow_outside_dir=*/true, false});
  BOOST_TEST(registry.get("testkit", &error), error);
}

// The host's own plugins (a data-store sink, say) are found without a copy
// in the plugins directory; one there of the same name wins; the same
// policy applies to both.
BOOST_AUTO_TEST_CASE(the_hosts_own_plugins_come_after_the_plugins_directory) {
  TempDir user, own;
  const std::string bundled = fs::canonical(own.path()).string();
  fs::copy_file(kDir + "/testkit.so", bundled + "/testkit.so");
  plugin::PluginRegistry registry(user.path());
  std::string error;
  BOOST_TEST(!registry.get("testkit", &error));  // none set: the plugins directory only
  registry.set_bundled_dir(bundled);
  auto found = registry.get("testkit", &error);
  BOOST_REQUIRE_MESSAGE(found, error);
  BOOST_TEST(found->path() == bundled + "/testkit.so");
  fs::copy_file(kDir + "/testkit.so", user.path() + "/testkit.so");
  auto mine = registry.get("testkit", &error);
  BOOST_REQUIRE_MESSAGE(mine, error);
  BOOST_TEST(mine->path() == user.path() + "/testkit.so");
  BOOST_TEST(!registry.get("testkt", &error));
  BOOST_TEST(contains(error, "(nor among the host's own plugins in " + bundled + ")"), error);
  BOOST_TEST(contains(error, "did you mean 'testkit'"), error);
  fs::remove(user.path() + "/testkit.so");
  fs::permissions(bundled + "/testkit.so", fs::perms::others_write, fs::perm_options::add);
  BOOST_TEST(!registry.get("testkit", &error));
  BOOST_TEST(contains(error, bundled + "/testkit.so is writable by group or others"), error);
}

BOOST_AUTO_TEST_CASE(plugins_others_may_write_are_refused) {
  TempDir dir;
  const std::string file = dir.path() + "/testkit.so";
  fs::copy_file(kDir + "/testkit.so", file);
  plugin::PluginRegistry registry(dir.path());
  std::string error;
  fs::permissions(file, fs::perms::others_write, fs::perm_options::add);
  BOOST_TEST(!registry.get("testkit", &error));
  BOOST_TEST(contains(error, file + " is writable by group or others (mode 0757)"), error);
  BOOST_TEST(contains(error, "chmod go-w " + file), error);
  fs::permissions(file, fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(dir.path(), fs::perms::group_write, fs::perm_options::add);
  BOOST_TEST(!registry.get("testkit", &error));
  BOOST_TEST(contains(error, "is writable by group or others (mode 0720)"), error);
  registry.set_policy({false, /*allow_writable=*/true});
  BOOST_TEST(registry.get("testkit", &error), error);
}

BOOST_AUTO_TEST_SUITE_END()

// The Python modules' hash, which decides whether a reload takes new code,
// reads a package linked in from elsewhere through its link, and ends on a
// link back up.
BOOST_AUTO_TEST_CASE(the_python_code_hash_reads_linked_packages) {
  TempDir dir;
  const fs::path root(dir.path());
  fs::create_directories(root / "mods" / "pkg");
  fs::create_directory_symlink("..", root / "mods" / "pkg" / "up");  // a cycle
  fs::create_directories(root / "shared");
  dir.write("shared/helper.py", "x = 1\n");
  fs::create_directory_symlink(root / "shared", root / "mods" / "linked");
  const std::vector<std::string> dirs{(root / "mods").string()};

  const std::string before = plugin::PythonProvider::code_hash(dirs);
  BOOST_TEST(plugin::PythonProvider::code_hash(dirs) == before);
  dir.write("shared/helper.py", "x = 2\n");
  BOOST_TEST(plugin::PythonProvider::code_hash(dirs) != before);
}
