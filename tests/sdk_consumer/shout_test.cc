// A plugin author's unit test: the plugin's source compiled in, driven by
// the SDK's test driver. Exits non-zero on the first failed check.
#include <cstdio>
#include <streams/test_driver.hpp>

#define CHECK(cond)                                                         \
  if (!(cond)) {                                                            \
    std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
    return 1;                                                               \
  }

int main() {
  streams::test_driver::FunctionDriver shout(STREAMS_PLUGIN_ENTRY(), "shout");
  auto result = shout.process(streams::test_driver::value("hello"));
  CHECK(result.status == streams::Status::ok);
  CHECK(result.contract_error.empty());
  CHECK(result.outputs.size() == 1);
  CHECK(*result.outputs[0].value == "HELLO!");
  std::puts("shout_test: ok");
  return 0;
}
