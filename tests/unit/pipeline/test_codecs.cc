// The msgpack and JSON conversions of the codec steps: agreement with
// nlohmann_json on what both accept, and bounded failure on hostile input.
#define BOOST_TEST_MODULE codecs
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <random>

#include "pipeline/codec.h"
#include "pipeline/json_check.h"
#include "pipeline/msgpack.h"

using nlohmann::json;
using streams::pipeline::JsonCheck;
using streams::pipeline::kMaxNesting;
using streams::pipeline::msgpack_to_json;

namespace {

std::string nlohmann_msgpack(const json& value) {
  std::string out;
  json::to_msgpack(value, nlohmann::detail::output_adapter<char>(out));
  return out;
}

// Our JSON text of a msgpack value, or "error: ..." when it is refused.
std::string to_json(const std::string& msgpack) {
  std::string out, error;
  return msgpack_to_json(msgpack, &out, &error) ? out : "error: " + error;
}

std::string nested(size_t depth, const std::string& open, const std::string& inner,
                   const std::string& close) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += open;
  out += inner;
  for (size_t i = 0; i < depth; ++i) out += close;
  return out;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// Keys in nlohmann_json's order (sorted), so its encoding is comparable with
// ours (which keeps the document's order).
const char* kSample = R"({"a": [], "b": [true, false, null], "f": [0.5, 0.1, 1e300, -2.5e-8, 3.0],
  "long": "0123456789012345678901234567890123", "n": [0, 1, 127, 128, 255, 256, 65535,
  65536, 4294967295, 4294967296, 18446744073709551615, -1, -32, -33, -128, -129, -32768,
  -32769, -2147483648, -2147483649, -9223372036854775808], "o": {}, "s": "tab\t quote\" é 😀"})";

}  // namespace

BOOST_AUTO_TEST_CASE(serializer_writes_what_nlohmann_writes) {
  JsonCheck check;
  std::string out, error;
  BOOST_REQUIRE_MESSAGE(check.to_msgpack(kSample, &out, &error), error);
  BOOST_TEST(json::from_msgpack(out) == json::parse(kSample));
  // The same bytes: smallest integer forms, float32 when exact, fix forms.
  BOOST_TEST(out == nlohmann_msgpack(json::parse(kSample)));
}

BOOST_AUTO_TEST_CASE(parser_reads_what_nlohmann_reads) {
  const std::string packed = nlohmann_msgpack(json::parse(kSample));
  const std::string text = to_json(packed);
  BOOST_TEST(json::parse(text) == json::parse(kSample), text);
  BOOST_TEST(to_json(nlohmann_msgpack(json::parse("3.0"))) == "3.0");
  BOOST_TEST(to_json(std::string("\xcb\x7f\xf8\0\0\0\0\0\0", 9)) == "null");  // NaN
  BOOST_TEST(to_json(std::string("\xc4\x02\x00\xff", 4)) == R"({"bytes":[0,255],"subtype":null})");
  BOOST_TEST(to_json("\xd4\xff\x07") == R"({"bytes":[7],"subtype":-1})");
  BOOST_TEST(to_json("\xa3\x01\"\\") == R"("\u0001\"\\")");
}

BOOST_AUTO_TEST_CASE(hostile_msgpack_is_a_record_error) {
  // A string holding byte 0xff (nlohmann's dump() threw on it).
  BOOST_TEST(starts_with(to_json("\xa1\xff"),
                         "error: not valid msgpack: a string that is not "
                         "valid UTF-8 at byte 1"));
  BOOST_TEST(starts_with(to_json("\x81\xa1\xff\x01"), "error: not valid msgpack: a string"));
  // 100,000 nested arrays (nlohmann's from_msgpack recursed until SIGSEGV).
  BOOST_TEST(starts_with(to_json(nested(100000, "\x91", "\xc0", "")),
                         "error: not valid msgpack: nested deeper than 256 levels"));
  BOOST_TEST(starts_with(to_json(nested(kMaxNesting, "\x91", "\xc0", "")), "[[[[["));
  BOOST_TEST(starts_with(to_json(nested(kMaxNesting + 1, "\x91", "\xc0", "")), "error:"));
  // Claimed sizes with nothing behind them allocate nothing.
  BOOST_TEST(starts_with(to_json("\xdd\xff\xff\xff\xff"), "error: not valid msgpack: truncated"));
  BOOST_TEST(starts_with(to_json("\xc6\xff\xff\xff\xff"), "error: not valid msgpack: truncated"));
  BOOST_TEST(starts_with(to_json("\x81\x01\x02"), "error: not valid msgpack: a map key"));
  BOOST_TEST(starts_with(to_json("\xc0\xc0"), "error: not valid msgpack: 1 byte(s) after"));
  BOOST_TEST(starts_with(to_json("\xc1"), "error: not valid msgpack: byte 0xc1"));
  BOOST_TEST(starts_with(to_json(""), "error: not valid msgpack: truncated"));
}

BOOST_AUTO_TEST_CASE(deep_json_is_a_record_error) {
  JsonCheck check;
  std::string out, error;
  const std::string deep = nested(100000, "[", "1", "]");
  BOOST_TEST(!check.valid(deep, &error));
  BOOST_TEST(error == "not valid JSON: nested deeper than 256 levels");
  BOOST_TEST(!check.to_msgpack(deep, &out, &error));
  BOOST_TEST(check.valid(nested(kMaxNesting, "[", "1", "]"), &error), error);
  BOOST_TEST(!check.valid(nested(kMaxNesting + 1, "{\"a\":", "1", "}"), &error));
  BOOST_TEST(!check.valid("\"\xff\"", &error));  // invalid UTF-8
  BOOST_TEST(starts_with(error, "not valid JSON"), error);
}

// Random bytes and mutations of valid msgpack: never a crash; whatever
// nlohmann_json reads into valid UTF-8 JSON, we read to the same value.
BOOST_AUTO_TEST_CASE(random_msgpack_agrees_with_nlohmann) {
  std::mt19937 rng(42);
  const std::string seed = nlohmann_msgpack(json::parse(kSample));
  int agreed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = seed;
    if (i % 2) {
      input.resize(rng() % 24);
      for (auto& c : input) c = static_cast<char>(rng());
    } else {
      for (int m = 0; m < 3; ++m) input[rng() % input.size()] = static_cast<char>(rng());
      input.resize(input.size() - rng() % 4);
    }
    std::string ours, error;
    const bool ok = msgpack_to_json(input, &ours, &error);
    const json theirs = json::from_msgpack(input, true, false);
    if (theirs.is_discarded()) continue;
    std::string text;
    try {
      text = theirs.dump();
    } catch (const json::exception&) {
      BOOST_TEST(!ok);  // invalid UTF-8: we refuse it
      continue;
    }
    BOOST_TEST_REQUIRE(ok, error);
    if (json::parse(ours) == theirs || text.find("bytes") != std::string::npos) ++agreed;
  }
  BOOST_TEST(agreed > 100);
}

// A Python pipeline's parser reports text that is not JSON in another
// reader's words (Python's, given by the bridge); valid text never asks, and
// the reader may decline (then the parser's own reason stands).
BOOST_AUTO_TEST_CASE(parser_takes_another_readers_reason_for_bad_json) {
  int asked = 0;
  std::string error;
  auto parser = streams::pipeline::CodecStep::parser(
      streams::config::Codec::json, "", &error, [&](std::string_view text, std::string* reason) {
        ++asked;
        if (text == "NaN") return false;  // Python reads it
        *reason = "JSONDecodeError: " + std::string(text);
        return true;
      });
  BOOST_REQUIRE(parser);
  streams::pipeline::CodecScratch scratch;
  auto bytes = [](const std::string& s) {
    return streams_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  };
  streams_bytes out{};
  const std::string good = R"({"a": 1})", bad = "{oops", nan = "NaN";
  BOOST_TEST(parser->apply(bytes(good), scratch, &out, &error));
  BOOST_TEST(asked == 0);
  BOOST_TEST(!parser->apply(bytes(bad), scratch, &out, &error));
  BOOST_TEST(error == "JSONDecodeError: {oops");
  BOOST_TEST(!parser->apply(bytes(nan), scratch, &out, &error));
  BOOST_TEST(starts_with(error, "not valid JSON: "), error);
  BOOST_TEST(asked == 2);

  // Not JSON text: never asked.
  auto msgpack = streams::pipeline::CodecStep::parser(
      streams::config::Codec::msgpack, "", &error,
      [&](std::string_view, std::string*) { return ++asked, true; });
  BOOST_TEST(!msgpack->apply(bytes("\xc1"), scratch, &out, &error));
  BOOST_TEST(asked == 2);
}
